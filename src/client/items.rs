//! Wire values the client receives: thread items, turns, threads, usage and turn errors.
//!
//! Each keeps the raw JSON beside the typed fields, so unknown variants and fields
//! never fail to parse and nothing the server sent is lost.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One item of a turn (`ThreadItem`): typed where useful, always with its raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadItem {
    /// The item id (`msg_1`, `call_3`, a UUID, ...).
    pub id: String,
    /// The wire `type`, e.g. `agentMessage`, `commandExecution`.
    pub item_type: String,
    /// The typed view of the known variants.
    pub details: ItemDetails,
    /// The item exactly as the server sent it.
    pub raw: Value,
}

/// The typed part of a [`ThreadItem`].
#[derive(Debug, Clone, PartialEq)]
pub enum ItemDetails {
    /// `agentMessage`.
    AgentMessage(AgentMessage),
    /// `commandExecution`.
    CommandExecution(CommandExecution),
    /// `fileChange`.
    FileChange(FileChange),
    /// Any other type; read [`ThreadItem::raw`].
    Other,
}

/// An `agentMessage` item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentMessage {
    /// The message text.
    #[serde(default)]
    pub text: String,
    /// `commentary`, `partial_answer`, `final_answer`, or none.
    #[serde(default)]
    pub phase: Option<String>,
}

/// A `commandExecution` item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecution {
    /// The command as run, e.g. `/bin/bash -lc 'echo hi'`.
    #[serde(default)]
    pub command: String,
    /// Its working directory.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// `inProgress`, `completed`, `failed` or `declined`.
    #[serde(default)]
    pub status: String,
    /// Everything it printed, when finished.
    #[serde(default)]
    pub aggregated_output: Option<String>,
    /// Its exit code, when finished.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// codex's summary of `command` for display (`commandActions[].command`).
    #[serde(default)]
    pub command_actions: Vec<CommandAction>,
}

/// One parsed part of a command (`CommandAction`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAction {
    /// `read`, `listFiles`, `search` or `unknown`.
    #[serde(rename = "type", default)]
    pub action_type: String,
    /// codex's display form of one part of the command, e.g. `cargo test`.
    #[serde(default)]
    pub command: String,
}

/// A `fileChange` item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FileChange {
    /// The files it changes.
    #[serde(default)]
    pub changes: Vec<FileUpdate>,
    /// `inProgress`, `completed`, `failed` or `declined`.
    #[serde(default)]
    pub status: String,
}

/// One changed file of a [`FileChange`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FileUpdate {
    /// The file.
    #[serde(default)]
    pub path: PathBuf,
    /// `{type: add|delete|update, move_path?}` as sent.
    #[serde(default)]
    pub kind: Value,
    /// The unified diff.
    #[serde(default)]
    pub diff: String,
}

impl ThreadItem {
    /// Parse an item; never fails (unknown shapes become [`ItemDetails::Other`]).
    pub fn from_value(raw: Value) -> ThreadItem {
        let id = str_field(&raw, "id");
        let item_type = str_field(&raw, "type");
        let details = match item_type.as_str() {
            "agentMessage" => typed(&raw).map(ItemDetails::AgentMessage),
            "commandExecution" => typed(&raw).map(ItemDetails::CommandExecution),
            "fileChange" => typed(&raw).map(ItemDetails::FileChange),
            _ => None,
        }
        .unwrap_or(ItemDetails::Other);
        ThreadItem {
            id,
            item_type,
            details,
            raw,
        }
    }

    /// The agent message, if this item is one.
    pub fn as_agent_message(&self) -> Option<&AgentMessage> {
        match &self.details {
            ItemDetails::AgentMessage(message) => Some(message),
            _ => None,
        }
    }

    /// The command execution, if this item is one.
    pub fn as_command(&self) -> Option<&CommandExecution> {
        match &self.details {
            ItemDetails::CommandExecution(command) => Some(command),
            _ => None,
        }
    }

    /// The file change, if this item is one.
    pub fn as_file_change(&self) -> Option<&FileChange> {
        match &self.details {
            ItemDetails::FileChange(change) => Some(change),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for ThreadItem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(ThreadItem::from_value)
    }
}

/// The final response of a turn: the last `agentMessage` with phase `final_answer`,
/// else the last agent message of any phase; `None` when there is none.
pub fn final_response(items: &[ThreadItem]) -> Option<String> {
    let messages: Vec<&AgentMessage> = items.iter().filter_map(|i| i.as_agent_message()).collect();
    messages
        .iter()
        .rev()
        .find(|m| m.phase.as_deref() == Some("final_answer"))
        .or(messages.last())
        .map(|m| m.text.clone())
}

fn str_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn typed<T: serde::de::DeserializeOwned>(raw: &Value) -> Option<T> {
    serde_json::from_value(raw.clone()).ok()
}

/// Why a turn failed (`TurnError`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnError {
    /// Human-readable description.
    pub message: String,
    /// The open union `codexErrorInfo` (a string such as `"badRequest"` or an object).
    #[serde(default)]
    pub codex_error_info: Option<Value>,
    /// More detail, when the server has it.
    #[serde(default)]
    pub additional_details: Option<String>,
}

/// How a turn ended (`TurnStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TurnStatus {
    /// Still running.
    InProgress,
    /// Finished normally.
    Completed,
    /// Stopped by `turn/interrupt`.
    Interrupted,
    /// Failed; see the turn's error.
    Failed,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// Token counts of one breakdown (`TokenUsageBreakdown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenBreakdown {
    /// All tokens.
    pub total_tokens: i64,
    /// Input tokens.
    pub input_tokens: i64,
    /// Input tokens served from cache.
    pub cached_input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Output tokens spent reasoning.
    pub reasoning_output_tokens: i64,
}

/// A thread's token usage (`ThreadTokenUsage`): running total and the last request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenUsage {
    /// Totals for the whole thread so far.
    pub total: TokenBreakdown,
    /// The most recent model request.
    pub last: TokenBreakdown,
    /// The model's context window, if known.
    pub model_context_window: Option<i64>,
}

/// A turn as the server describes it (`Turn`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnInfo {
    /// The turn id.
    pub id: String,
    /// Its status.
    pub status: TurnStatus,
    /// The items loaded with it (may be a summary; see `itemsView`).
    #[serde(default)]
    pub items: Vec<ThreadItem>,
    /// Its error, when failed or interrupted.
    #[serde(default)]
    pub error: Option<TurnError>,
    /// How long it ran.
    #[serde(default)]
    pub duration_ms: Option<i64>,
}

/// A thread as the server describes it (`Thread`); the raw object is kept in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadInfo {
    /// The thread id (a UUIDv7).
    pub id: String,
    /// The first user message, shortened.
    pub preview: String,
    /// Its name, once set ([`Thread::set_name`](super::Thread::set_name)).
    pub name: Option<String>,
    /// Whether it lives in memory only.
    pub ephemeral: bool,
    /// The thread this one was forked from.
    pub forked_from_id: Option<String>,
    /// Its working directory.
    pub cwd: Option<PathBuf>,
    /// Its rollout file, if persisted.
    pub path: Option<PathBuf>,
    /// Its turns; filled by resume, fork and read with turns only.
    pub turns: Vec<TurnInfo>,
    /// The object exactly as sent.
    pub raw: Value,
}

impl ThreadInfo {
    /// Parse a `Thread` object; missing fields take empty values.
    pub fn from_value(raw: Value) -> ThreadInfo {
        let get = |key: &str| raw.get(key).cloned().unwrap_or(Value::Null);
        ThreadInfo {
            id: str_field(&raw, "id"),
            preview: str_field(&raw, "preview"),
            name: raw.get("name").and_then(Value::as_str).map(str::to_owned),
            ephemeral: get("ephemeral").as_bool().unwrap_or(false),
            forked_from_id: serde_json::from_value(get("forkedFromId")).unwrap_or(None),
            cwd: serde_json::from_value(get("cwd")).unwrap_or(None),
            path: serde_json::from_value(get("path")).unwrap_or(None),
            turns: serde_json::from_value(get("turns")).unwrap_or_default(),
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn final_response_prefers_the_last_final_answer() {
        let items: Vec<ThreadItem> = [
            json!({"type": "agentMessage", "id": "a", "text": "one", "phase": "final_answer"}),
            json!({"type": "agentMessage", "id": "b", "text": "two", "phase": "commentary"}),
            json!({"type": "somethingNew", "id": "c", "x": 1}),
        ]
        .into_iter()
        .map(ThreadItem::from_value)
        .collect();
        assert_eq!(final_response(&items).as_deref(), Some("one"));
        assert_eq!(final_response(&items[1..]).as_deref(), Some("two"));
        assert_eq!(final_response(&items[2..]), None);
        assert_eq!(items[2].details, ItemDetails::Other);
    }
}
