//! `isolation`: which working tree a step's turns edit.

use serde::{Deserialize, Serialize};

/// Where a step (each `for_each` element) does its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// In the working tree weft runs in, with every other step. weft's default.
    #[default]
    None,
    /// In a git worktree of its own, at the run's current state; its changes come back to
    /// the working tree as one patch when the step succeeds.
    Worktree,
}

impl Isolation {
    /// The spelling in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::Worktree => "worktree",
        }
    }
}
