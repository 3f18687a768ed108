//! How a step's policies reach the agent: exhaustive conversions from the workflow's
//! policy enums into the client's wire types, and a turn's sandbox policy (its network
//! access and writable roots). A new spelling on either side fails to
//! compile here instead of silently sending nothing.

use super::agent::TurnSpec;
use crate::client::{self, ApprovalPolicy, ReasoningEffort, SandboxMode};
use crate::vocab::{Approval, Effort, Sandbox};

impl From<Approval> for ApprovalPolicy {
    fn from(approval: Approval) -> Self {
        match approval {
            Approval::Untrusted => ApprovalPolicy::Untrusted,
            Approval::OnRequest => ApprovalPolicy::OnRequest,
            Approval::Never => ApprovalPolicy::Never,
        }
    }
}

impl From<Sandbox> for SandboxMode {
    fn from(sandbox: Sandbox) -> Self {
        match sandbox {
            Sandbox::ReadOnly => SandboxMode::ReadOnly,
            Sandbox::WorkspaceWrite => SandboxMode::WorkspaceWrite,
            Sandbox::DangerFullAccess => SandboxMode::DangerFullAccess,
        }
    }
}

impl From<Effort> for ReasoningEffort {
    fn from(effort: Effort) -> Self {
        match effort {
            Effort::None => ReasoningEffort::None,
            Effort::Minimal => ReasoningEffort::Minimal,
            Effort::Low => ReasoningEffort::Low,
            Effort::Medium => ReasoningEffort::Medium,
            Effort::High => ReasoningEffort::High,
            Effort::Xhigh => ReasoningEffort::XHigh,
        }
    }
}

/// The turn's sandbox: its mode, with network access and the extra writable roots for
/// `workspace-write`.
pub(super) fn sandbox_policy(turn: &TurnSpec) -> client::SandboxPolicy {
    match client::SandboxMode::from(turn.sandbox).to_policy() {
        client::SandboxPolicy::WorkspaceWrite {
            exclude_tmpdir_env_var,
            exclude_slash_tmp,
            ..
        } => client::SandboxPolicy::WorkspaceWrite {
            writable_roots: turn.writable_roots.clone(),
            network_access: turn.network,
            exclude_tmpdir_env_var,
            exclude_slash_tmp,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both sides serialize to the same wire spelling, for every value.
    #[test]
    fn conversions_keep_the_wire_spelling() {
        let same = |a: serde_json::Value, b: serde_json::Value| assert_eq!(a, b);
        for a in [Approval::Untrusted, Approval::OnRequest, Approval::Never] {
            same(json(a), json(ApprovalPolicy::from(a)));
        }
        for s in [
            Sandbox::ReadOnly,
            Sandbox::WorkspaceWrite,
            Sandbox::DangerFullAccess,
        ] {
            same(json(s), json(SandboxMode::from(s)));
        }
        for e in [
            Effort::None,
            Effort::Minimal,
            Effort::Low,
            Effort::Medium,
            Effort::High,
            Effort::Xhigh,
        ] {
            same(json(e), json(ReasoningEffort::from(e)));
        }
    }

    fn json(value: impl serde::Serialize) -> serde_json::Value {
        serde_json::to_value(value).unwrap()
    }
}
