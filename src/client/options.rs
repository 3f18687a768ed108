//! Options of thread and turn calls, and how they become `thread/*` and `turn/start` params.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::input::Input;
use super::protocol::{
    ApprovalPolicy, ReasoningEffort, SandboxMode, SandboxPolicy, SortDirection, ThreadSortKey,
    ThreadSourceKind,
};

/// Options of `thread_start`, `thread_resume` and `thread_fork`. Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreadOptions {
    /// The model, e.g. `gpt-5.4`.
    pub model: Option<String>,
    /// Reasoning effort, sent as the config override `model_reasoning_effort`
    /// (threads have no `effort` field).
    pub effort: Option<ReasoningEffort>,
    /// The working directory of the thread's turns.
    pub cwd: Option<PathBuf>,
    /// When the agent must ask first.
    pub approval_policy: Option<ApprovalPolicy>,
    /// The thread's sandbox.
    pub sandbox: Option<SandboxMode>,
    /// Replaces the built-in base instructions.
    pub base_instructions: Option<String>,
    /// Extra developer instructions.
    pub developer_instructions: Option<String>,
    /// config.toml overrides by dotted key, e.g. `{"model_reasoning_effort": "low"}`.
    pub config: Map<String, Value>,
    /// Keep the thread in memory only. `thread/resume` has no such field and ignores it.
    pub ephemeral: Option<bool>,
}

impl ThreadOptions {
    /// The shared params object of `thread/start`, `thread/resume` and `thread/fork`.
    pub(crate) fn to_params(&self) -> Map<String, Value> {
        let mut params = Map::new();
        put(&mut params, "model", &self.model);
        put(&mut params, "cwd", &self.cwd);
        put(&mut params, "approvalPolicy", &self.approval_policy);
        put(&mut params, "sandbox", &self.sandbox);
        put(&mut params, "baseInstructions", &self.base_instructions);
        put(
            &mut params,
            "developerInstructions",
            &self.developer_instructions,
        );
        let mut config = self.config.clone();
        if let Some(effort) = self.effort {
            config.insert("model_reasoning_effort".into(), effort.as_str().into());
        }
        if !config.is_empty() {
            params.insert("config".into(), Value::Object(config));
        }
        params
    }
}

/// Per-turn options of [`Thread::run`](super::Thread::run) and [`Thread::turn`](super::Thread::turn).
///
/// The server keeps every override except `output_schema` for the thread's later turns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnOptions {
    /// A JSON Schema the final message must follow (this turn only). With the OpenAI
    /// models it must set `additionalProperties: false` and list every property as required.
    pub output_schema: Option<Value>,
    /// When the agent must ask first.
    pub approval_policy: Option<ApprovalPolicy>,
    /// The sandbox of this turn.
    pub sandbox_policy: Option<SandboxPolicy>,
    /// The model.
    pub model: Option<String>,
    /// Reasoning effort.
    pub effort: Option<ReasoningEffort>,
    /// The working directory.
    pub cwd: Option<PathBuf>,
}

impl TurnOptions {
    pub(crate) fn to_params(&self, thread_id: &str, input: &Input) -> Value {
        let mut params = Map::new();
        params.insert("threadId".into(), thread_id.into());
        params.insert("input".into(), input.items_value());
        put(&mut params, "toolOutput", &input.tool_output());
        put(&mut params, "outputSchema", &self.output_schema);
        put(&mut params, "approvalPolicy", &self.approval_policy);
        put(&mut params, "sandboxPolicy", &self.sandbox_policy);
        put(&mut params, "model", &self.model);
        put(&mut params, "effort", &self.effort);
        put(&mut params, "cwd", &self.cwd);
        Value::Object(params)
    }
}

/// Filters of [`Client::thread_list`](super::Client::thread_list).
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadListOptions {
    /// A cursor from a previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Sort key (server default: created_at).
    pub sort_key: Option<ThreadSortKey>,
    /// Sort direction (server default: newest first).
    pub sort_direction: Option<SortDirection>,
    /// Only these model providers.
    pub model_providers: Option<Vec<String>>,
    /// Only these sources. Defaults to [`ThreadSourceKind::TOP_LEVEL`]; the server's own
    /// default (when empty) is interactive sources only.
    pub source_kinds: Vec<ThreadSourceKind>,
    /// `Some(true)`: archived threads only.
    pub archived: Option<bool>,
    /// Only threads whose cwd is one of these.
    pub cwd: Vec<PathBuf>,
    /// Substring of the thread title.
    pub search_term: Option<String>,
}

impl Default for ThreadListOptions {
    fn default() -> ThreadListOptions {
        ThreadListOptions {
            cursor: None,
            limit: None,
            sort_key: None,
            sort_direction: None,
            model_providers: None,
            source_kinds: ThreadSourceKind::TOP_LEVEL.to_vec(),
            archived: None,
            cwd: Vec::new(),
            search_term: None,
        }
    }
}

impl ThreadListOptions {
    pub(crate) fn to_params(&self) -> Value {
        let mut params = Map::new();
        put(&mut params, "cursor", &self.cursor);
        put(&mut params, "limit", &self.limit);
        put(&mut params, "sortKey", &self.sort_key);
        put(&mut params, "sortDirection", &self.sort_direction);
        put(&mut params, "modelProviders", &self.model_providers);
        if !self.source_kinds.is_empty() {
            params.insert("sourceKinds".into(), json!(self.source_kinds));
        }
        put(&mut params, "archived", &self.archived);
        if !self.cwd.is_empty() {
            params.insert("cwd".into(), json!(self.cwd));
        }
        put(&mut params, "searchTerm", &self.search_term);
        Value::Object(params)
    }
}

fn put<T: serde::Serialize>(params: &mut Map<String, Value>, key: &str, value: &Option<T>) {
    if let Some(value) = value {
        if let Ok(value) = serde_json::to_value(value) {
            params.insert(key.into(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_and_turn_params_use_their_own_spellings() {
        let thread = ThreadOptions {
            sandbox: Some(SandboxMode::ReadOnly),
            effort: Some(ReasoningEffort::Low),
            approval_policy: Some(ApprovalPolicy::Never),
            ..Default::default()
        };
        assert_eq!(
            Value::Object(thread.to_params()),
            json!({"approvalPolicy": "never", "sandbox": "read-only",
                   "config": {"model_reasoning_effort": "low"}})
        );
        let turn = TurnOptions {
            sandbox_policy: Some(SandboxMode::ReadOnly.to_policy()),
            effort: Some(ReasoningEffort::High),
            ..Default::default()
        };
        assert_eq!(
            turn.to_params("t", &Input::from("hi")),
            json!({"threadId": "t", "input": [{"type": "text", "text": "hi"}],
                   "sandboxPolicy": {"type": "readOnly", "networkAccess": false}, "effort": "high"})
        );
    }
}
