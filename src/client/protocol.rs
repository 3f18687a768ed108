//! Wire values the client sends: policies, sandbox modes and reasoning effort (turn input
//! is in `input.rs`).
//!
//! Spellings follow the pinned app-server's JSON Schema. They differ between thread and
//! turn methods: `thread/start` takes `sandbox` as a kebab-case [`SandboxMode`] string,
//! `turn/start` takes `sandboxPolicy` as a tagged [`SandboxPolicy`] object.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// When the agent must ask before acting (`approvalPolicy`, same spelling on threads and turns).
///
/// `on-failure` is not offered: the protocol removed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    /// Ask before anything not known to be safe (`"untrusted"`).
    Untrusted,
    /// The model decides when to ask (`"on-request"`).
    OnRequest,
    /// Never ask; failures go back to the model (`"never"`).
    Never,
}

/// The sandbox of a thread (`thread/start`, `thread/resume`, `thread/fork` field `sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// `"read-only"`.
    ReadOnly,
    /// `"workspace-write"`.
    WorkspaceWrite,
    /// `"danger-full-access"`.
    DangerFullAccess,
}

impl SandboxMode {
    /// The per-turn policy object with the same meaning and default options.
    pub fn to_policy(self) -> SandboxPolicy {
        match self {
            SandboxMode::ReadOnly => SandboxPolicy::ReadOnly {
                network_access: false,
            },
            SandboxMode::WorkspaceWrite => SandboxPolicy::WorkspaceWrite {
                writable_roots: Vec::new(),
                network_access: false,
                exclude_tmpdir_env_var: false,
                exclude_slash_tmp: false,
            },
            SandboxMode::DangerFullAccess => SandboxPolicy::DangerFullAccess,
        }
    }
}

/// The sandbox of one turn (`turn/start` field `sandboxPolicy`), a tagged object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SandboxPolicy {
    /// `{"type":"dangerFullAccess"}`.
    DangerFullAccess,
    /// `{"type":"readOnly","networkAccess":..}`.
    #[serde(rename_all = "camelCase")]
    ReadOnly {
        /// Allow network access.
        #[serde(default)]
        network_access: bool,
    },
    /// `{"type":"workspaceWrite",..}`.
    #[serde(rename_all = "camelCase")]
    WorkspaceWrite {
        /// Extra absolute paths the turn may write.
        #[serde(default)]
        writable_roots: Vec<PathBuf>,
        /// Allow network access.
        #[serde(default)]
        network_access: bool,
        /// Do not make `$TMPDIR` writable.
        #[serde(default)]
        exclude_tmpdir_env_var: bool,
        /// Do not make `/tmp` writable.
        #[serde(default)]
        exclude_slash_tmp: bool,
    },
    /// The caller sandboxes the agent itself.
    #[serde(rename_all = "camelCase")]
    ExternalSandbox {
        /// Whether that outer sandbox lets the network through.
        #[serde(default)]
        network_access: NetworkAccess,
    },
}

/// Network access inside an external sandbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NetworkAccess {
    /// `"restricted"` (the default).
    #[default]
    Restricted,
    /// `"enabled"`.
    Enabled,
}

/// The model's reasoning effort (`effort` on turns, `model_reasoning_effort` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// `"none"`.
    None,
    /// `"minimal"`.
    Minimal,
    /// `"low"`.
    Low,
    /// `"medium"`.
    Medium,
    /// `"high"`.
    High,
    /// `"xhigh"`.
    #[serde(rename = "xhigh")]
    XHigh,
}

impl ReasoningEffort {
    /// The wire spelling, e.g. `"xhigh"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::XHigh => "xhigh",
        }
    }
}

/// Which sessions `thread/list` returns, by where they were started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ThreadSourceKind {
    /// The interactive CLI.
    Cli,
    /// IDE extensions and app-server clients that report as one.
    Vscode,
    /// `codex exec`.
    Exec,
    /// App-server clients.
    AppServer,
    /// Sub-agents.
    SubAgent,
    /// Review sub-agents.
    SubAgentReview,
    /// Compaction sub-agents.
    SubAgentCompact,
    /// Spawned sub-agent threads.
    SubAgentThreadSpawn,
    /// Other sub-agents.
    SubAgentOther,
    /// Unknown sources.
    Unknown,
}

impl ThreadSourceKind {
    /// Every top-level (non-sub-agent) source: the default filter of
    /// [`ThreadListOptions`](super::ThreadListOptions), so that app-server threads are listed.
    pub const TOP_LEVEL: [ThreadSourceKind; 5] = [
        ThreadSourceKind::Cli,
        ThreadSourceKind::Vscode,
        ThreadSourceKind::Exec,
        ThreadSourceKind::AppServer,
        ThreadSourceKind::Unknown,
    ];
}

/// `thread/list` sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadSortKey {
    /// `created_at` (the server's default).
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `recency_at`.
    RecencyAt,
}

/// `thread/list` sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Oldest first.
    Asc,
    /// Newest first (the server's default).
    Desc,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thread_and_turn_spellings_match_the_schema() {
        let mode = serde_json::to_value(SandboxMode::WorkspaceWrite).unwrap();
        assert_eq!(mode, json!("workspace-write"));
        let policy = serde_json::to_value(SandboxMode::ReadOnly.to_policy()).unwrap();
        assert_eq!(policy, json!({"type": "readOnly", "networkAccess": false}));
        let approval = serde_json::to_value(ApprovalPolicy::OnRequest).unwrap();
        assert_eq!(approval, json!("on-request"));
        let effort = serde_json::to_value(ReasoningEffort::XHigh).unwrap();
        assert_eq!(effort, json!("xhigh"));
        let kind = serde_json::to_value(ThreadSourceKind::AppServer).unwrap();
        assert_eq!(kind, json!("appServer"));
    }
}
