//! Policy values a step runs under: approval, sandbox, reasoning effort, approval rules,
//! and durations. Spellings are the app-server protocol's (PROTOCOL.md §7).

use std::time::Duration;

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

/// Match `text` against a glob with `*`, `**` and `?`; with `paths`, `*` and `?` never match `/`,
/// and `**/` also matches no directory at all (`src/**/*.rs` matches `src/lib.rs`). Linear
/// in the text: see [`crate::glob`].
pub fn glob_match(pattern: &str, text: &str, paths: bool) -> bool {
    crate::glob::glob_match(pattern, text, paths)
}

/// Parse `90s`, `10m`, `1h30m`, `500ms` (units `ms`, `s`, `m`, `h`; parts add up).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(1), 2)
        } else if rest.starts_with('s') {
            (Duration::from_secs(1), 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(60), 1)
        } else if rest.starts_with('h') {
            (Duration::from_secs(3600), 1)
        } else {
            return None;
        };
        total = total.checked_add(unit.checked_mul(u32::try_from(number).ok()?)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

/// Format a duration back the way a workflow file writes it (`1h30m`, `90s` → `1m30s`).
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 != 0 {
        return format!("{millis}ms");
    }
    let secs = duration.as_secs();
    let mut out = String::new();
    for (value, unit) in [(secs / 3600, "h"), (secs / 60 % 60, "m"), (secs % 60, "s")] {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration("10"), None);
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }

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
