//! `approvals`: what weft approves when the agent asks, as `defaults`, a thread or a step
//! writes it (each list replaces the inherited one).

use serde::{Deserialize, Serialize};

use crate::vocab::glob_match;

/// What weft approves when the agent asks; everything else is declined.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    /// Glob patterns over a command as the agent wrote it (`cargo test*`); `*` matches anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Glob patterns over the paths of a file change (`src/**/*.rs`); `*` stays inside one
    /// path segment, `**` crosses them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

impl ApprovalRules {
    /// True when `command` (one part of a command line) matches an allowed pattern.
    pub fn allows_command(&self, command: &str) -> bool {
        self.commands
            .iter()
            .flatten()
            .any(|p| glob_match(p, command.trim(), false))
    }

    /// True when `path` matches an allowed file pattern.
    pub fn allows_file(&self, path: &str) -> bool {
        self.files
            .iter()
            .flatten()
            .any(|p| glob_match(p, path, true))
    }

    /// Field by field, `over` wins where it says something.
    pub fn overlay(&self, over: &ApprovalRules) -> ApprovalRules {
        ApprovalRules {
            commands: over.commands.clone().or_else(|| self.commands.clone()),
            files: over.files.clone().or_else(|| self.files.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_commands_and_paths() {
        let rules = ApprovalRules {
            commands: Some(vec!["cargo test*".into()]),
            files: Some(vec!["src/**/*.rs".into(), "*.md".into()]),
        };
        assert!(rules.allows_command("cargo test --all"));
        assert!(!rules.allows_command("cargo publish"));
        assert!(rules.allows_file("src/a/b.rs"));
        assert!(rules.allows_file("README.md"));
        assert!(!rules.allows_file("docs/README.md"));
        assert!(!ApprovalRules::default().allows_command("ls"));
    }
}
