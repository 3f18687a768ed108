//! The policies a step runs under, as workflow files spell them. The spellings are the
//! app-server protocol's (PROTOCOL.md §7); [`crate::engine`] converts them into
//! [`crate::client`]'s wire types.

use serde::{Deserialize, Serialize};

/// When the agent must ask before acting (`approvalPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// Ask before anything that is not known to be safe.
    Untrusted,
    /// The agent decides when to ask.
    OnRequest,
    /// Never ask; what the sandbox forbids fails. weft's default.
    #[default]
    Never,
}

impl Approval {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Untrusted => "untrusted",
            Approval::OnRequest => "on-request",
            Approval::Never => "never",
        }
    }
}

/// What the agent's commands may touch (thread `sandbox` mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sandbox {
    /// Read anything, write nothing. weft's default.
    #[default]
    ReadOnly,
    /// Write inside the working directory.
    WorkspaceWrite,
    /// No sandbox at all.
    DangerFullAccess,
}

impl Sandbox {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Sandbox::ReadOnly => "read-only",
            Sandbox::WorkspaceWrite => "workspace-write",
            Sandbox::DangerFullAccess => "danger-full-access",
        }
    }
}

/// The model's reasoning effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    /// No reasoning.
    None,
    /// Minimal.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Extra high.
    Xhigh,
}

impl Effort {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
        }
    }
}

impl Effort {
    /// Every effort, in increasing order.
    pub const ALL: [Effort; 6] = [
        Effort::None,
        Effort::Minimal,
        Effort::Low,
        Effort::Medium,
        Effort::High,
        Effort::Xhigh,
    ];

    /// The effort spelled `text`, if there is one.
    pub fn parse(text: &str) -> Option<Effort> {
        Effort::ALL.into_iter().find(|e| e.as_str() == text)
    }
}
