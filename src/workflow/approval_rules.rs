//! `approvals`: what weft approves when the agent asks, as `defaults`, a thread or a step
//! writes it (each list replaces the inherited one). The engine decides requests from the
//! effective lists (`engine::approvals`).

use serde::{Deserialize, Serialize};

/// What weft approves when the agent asks; everything else is declined.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    /// Glob patterns over each command that runs (`cargo test*`); `*` matches anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Glob patterns over the paths of a file change (`src/**/*.rs`); `*` stays inside one
    /// path segment, `**` crosses them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

impl ApprovalRules {
    /// Field by field, `over` wins where it says something.
    pub fn overlay(&self, over: &ApprovalRules) -> ApprovalRules {
        ApprovalRules {
            commands: over.commands.clone().or_else(|| self.commands.clone()),
            files: over.files.clone().or_else(|| self.files.clone()),
        }
    }
}
