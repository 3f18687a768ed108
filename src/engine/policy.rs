//! How a step's policies reach the agent: exhaustive conversions from the workflow's
//! policy enums into the client's wire types. A new spelling on either side fails to
//! compile here instead of silently sending nothing.

use crate::client::{ApprovalPolicy, ReasoningEffort, SandboxMode};
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
