//! How a new thread sets up the shell its commands run in (`environment:`).

use serde::{Deserialize, Serialize};

/// The shell environment of a thread's commands. Unset, the user's Codex configuration
/// decides (codex's default is a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Codex's shell snapshot (`features.shell_snapshot = true`): each new thread runs the
    /// user's login shell once and its commands start from what that set up.
    Snapshot,
    /// No snapshot (`features.shell_snapshot = false`): a new thread starts no login shell,
    /// which is quicker; commands start from the environment codex was started with.
    Plain,
}

impl Environment {
    /// The spelling in workflow files.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Snapshot => "snapshot",
            Environment::Plain => "plain",
        }
    }

    /// The Codex config key this sets, and its value.
    pub fn config(self) -> (&'static str, bool) {
        ("features.shell_snapshot", self == Environment::Snapshot)
    }
}
