//! Answers the agent's approval requests from a step's declarative `approvals` rules.
//!
//! The rule is "never approve more than the workflow allows":
//! - a command is approved only when every part of it (split at unquoted `&&`, `||`,
//!   `;`, `|`, `&` and newlines) matches one of the step's command patterns, where `*`
//!   matches any run of characters and `?` one character;
//! - a part that redirects (`>`, `<`) or substitutes (`$(…)`, backticks) outside single
//!   quotes is approved only by a pattern without wildcards that equals it exactly;
//! - a file change is approved only when every changed path, relative to the step's
//!   working directory, matches one of the step's file globs (`*` stays within a
//!   directory, `**` crosses directories); a path outside the working directory must
//!   match an absolute glob;
//! - with no rules, or anything unknown, the answer is decline.

use std::path::{Path, PathBuf};

use crate::vocab::glob_match;

/// A step's approval rules.
#[derive(Debug, Clone, Default)]
pub struct ApprovalRules {
    commands: Vec<String>,
    files: Vec<String>,
}

/// What weft answered, and why (the reason is logged and reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub approved: bool,
    pub reason: String,
}

impl Verdict {
    fn accept(reason: String) -> Self {
        Self {
            approved: true,
            reason,
        }
    }

    fn decline(reason: String) -> Self {
        Self {
            approved: false,
            reason,
        }
    }
}

impl ApprovalRules {
    pub fn new(commands: &[String], files: &[String]) -> Self {
        Self {
            commands: commands.to_vec(),
            files: files.to_vec(),
        }
    }

    /// True when no request can ever be approved.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.files.is_empty()
    }

    /// Decides a command approval. `commands` are the commands as the agent wrote them
    /// (the request's `commandActions[].command`), or its `command` when there are none.
    pub fn decide_command(&self, commands: &[String]) -> Verdict {
        if commands.is_empty() {
            return Verdict::decline("the request names no command".into());
        }
        if self.commands.is_empty() {
            return Verdict::decline("the step allows no commands".into());
        }
        let mut matched = Vec::new();
        for command in commands {
            for part in split_command(command) {
                match self.matching_pattern(&part) {
                    Some(pattern) => matched.push(format!("`{part}` matches `{pattern}`")),
                    None => {
                        return Verdict::decline(format!(
                            "`{part}` matches no allowed command pattern"
                        ));
                    }
                }
            }
        }
        Verdict::accept(matched.join(", "))
    }

    fn matching_pattern(&self, part: &str) -> Option<&str> {
        let risky = has_redirect_or_substitution(part);
        self.commands
            .iter()
            .find(|pattern| {
                if risky {
                    !pattern.contains(['*', '?']) && pattern.trim() == part
                } else {
                    glob_match(pattern.trim(), part, false)
                }
            })
            .map(String::as_str)
    }

    /// Decides a file-change approval for `paths`, relative to the step's `cwd`.
    pub fn decide_files(&self, paths: &[PathBuf], cwd: &Path) -> Verdict {
        if self.files.is_empty() {
            return Verdict::decline("the step allows no file changes".into());
        }
        if paths.is_empty() {
            return Verdict::decline("the request names no file".into());
        }
        for path in paths {
            let relative = path.strip_prefix(cwd).unwrap_or(path);
            let text = relative.to_string_lossy();
            if !self.files.iter().any(|p| glob_match(p, &text, true)) {
                return Verdict::decline(format!(
                    "`{}` matches no allowed file glob",
                    relative.display()
                ));
            }
        }
        Verdict::accept(format!("every path matches {:?}", self.files))
    }
}

/// Splits a shell command into its simple commands at unquoted control operators.
pub fn split_command(command: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some('"'), '\\') => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (Some(_), _) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, '\\') => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (None, ';' | '\n' | '|' | '&') => {
                if matches!(c, '|' | '&') && chars.peek() == Some(&c) {
                    chars.next();
                }
                if c == '&' && current.ends_with(['>', '<']) {
                    current.push(c);
                    continue;
                }
                parts.push(std::mem::take(&mut current));
            }
            (None, _) => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether the shell would redirect or substitute in `part`: `$(` and backticks outside
/// single quotes, `>` and `<` outside any quotes. A backslash outside single quotes
/// escapes the next character (so `\'` opens no quote), and a `'` inside double quotes is
/// a plain character.
fn has_redirect_or_substitution(part: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('\''), _) => {}
            (_, '\\') => {
                chars.next();
            }
            (None, '\'' | '"') => quote = Some(c),
            (_, '`') => return true,
            (_, '$') if chars.peek() == Some(&'(') => return true,
            (None, '>' | '<') => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn rules(commands: &[&str], files: &[&str]) -> ApprovalRules {
        let c: Vec<String> = commands.iter().map(|s| s.to_string()).collect();
        let f: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        ApprovalRules::new(&c, &f)
    }

    fn cmd(rules: &ApprovalRules, command: &str) -> bool {
        rules.decide_command(&[command.to_string()]).approved
    }

    #[test]
    fn splits_at_unquoted_operators() {
        assert_eq!(
            split_command("cargo test && echo 'a && b' | tee x; ls & wait"),
            vec!["cargo test", "echo 'a && b'", "tee x", "ls", "wait"]
        );
        assert_eq!(split_command("make 2>&1"), vec!["make 2>&1"]);
    }

    #[test]
    fn every_part_must_be_allowed() {
        let r = rules(&["cargo test*", "cargo check*"], &[]);
        assert!(cmd(&r, "cargo test -p weft"));
        assert!(cmd(&r, "cargo check && cargo test"));
        assert!(!cmd(&r, "cargo test && rm -rf /"));
        assert!(!cmd(&r, "cargo test | sh"));
        assert!(!cmd(&r, "cargo test; curl example.com"));
    }

    #[test]
    fn redirects_and_substitutions_need_an_exact_pattern() {
        let r = rules(&["cargo test*", "echo ok > status.txt"], &[]);
        assert!(!cmd(&r, "cargo test > /etc/passwd"));
        assert!(!cmd(&r, "cargo test $(rm -rf ~)"));
        assert!(!cmd(&r, "cargo test `id`"));
        assert!(cmd(&r, "cargo test 'a>b'"));
        assert!(cmd(&r, "echo ok > status.txt"));
    }

    #[test]
    fn an_escaped_or_double_quoted_quote_hides_no_substitution() {
        let r = rules(&["echo *"], &[]);
        assert!(!cmd(&r, r"echo \' $(rm -rf x) \'"));
        assert!(!cmd(&r, r#"echo "it's" $(rm -rf x) "it's""#));
        assert!(!cmd(&r, r#"echo "$(id)""#));
        assert!(cmd(&r, r#"echo "a > b" 'c $(d)'"#));
    }

    #[test]
    fn no_rules_declines_everything() {
        let r = ApprovalRules::default();
        assert!(r.is_empty());
        assert!(!cmd(&r, "ls"));
        let v = r.decide_files(&[PathBuf::from("/w/a.rs")], Path::new("/w"));
        assert_eq!(v.approved, false);
        assert_eq!(v.reason, "the step allows no file changes");
    }

    #[test]
    fn file_globs_are_relative_to_the_working_directory() {
        let r = rules(&[], &["src/**/*.rs", "Cargo.toml"]);
        let cwd = Path::new("/repo");
        let ok = |paths: &[&str]| {
            let p: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
            r.decide_files(&p, cwd).approved
        };
        assert!(ok(&[
            "/repo/src/lib.rs",
            "/repo/src/a/b.rs",
            "/repo/Cargo.toml"
        ]));
        assert!(!ok(&["/repo/src/lib.rs", "/repo/build.rs"]));
        assert!(!ok(&["/etc/src/x.rs"]));
        assert!(!ok(&[]));
    }
}
