//! Glob patterns (`*`, `?`, and `**` for paths) compiled once to regular expressions, so
//! matching is linear in the length of the text however many `*` a pattern has.
//!
//! A command pattern's `*` matches any run of characters (spaces, quotes and `/`
//! included) and `?` exactly one character. A path pattern's `*` and `?` never match
//! `/`; `**` crosses directories and `**/` also matches no directory at all
//! (`src/**/*.rs` matches `src/lib.rs`). Every other character matches itself.

use regex::Regex;

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Glob {
    source: String,
    whole: Option<Regex>,
    prefix: Option<Regex>,
}

impl Glob {
    /// A pattern over a command line.
    pub fn command(pattern: &str) -> Glob {
        Glob::compile(pattern, false)
    }

    /// A pattern over a file path.
    pub fn path(pattern: &str) -> Glob {
        Glob::compile(pattern, true)
    }

    fn compile(pattern: &str, paths: bool) -> Glob {
        let body = translate(pattern, paths);
        let whole = Regex::new(&format!(r"\A(?:{body})\z")).ok();
        let stem = pattern.trim_end_matches('*');
        let prefix = (!paths && stem.len() < pattern.len())
            .then(|| Regex::new(&format!(r"\A(?:{})", translate(stem, false))).ok())
            .flatten();
        Glob {
            source: pattern.to_string(),
            whole,
            prefix,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern has no wildcard: it matches only itself.
    pub fn is_exact(&self) -> bool {
        !self.source.contains(['*', '?'])
    }

    /// True when the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.whole.as_ref().is_some_and(|r| r.is_match(text))
    }

    /// True when the pattern matches `start` followed by any text at all: it ends with
    /// `*` and what comes before that `*` matches some beginning of `start`.
    pub fn matches_any_continuation(&self, start: &str) -> bool {
        self.prefix.as_ref().is_some_and(|r| r.is_match(start))
    }
}

/// The regular expression (without anchors) for a glob.
fn translate(pattern: &str, paths: bool) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '*' if paths && rest.starts_with("*/") => {
                rest = &rest[2..];
                out.push_str("(?s:.*/)?");
            }
            '*' if paths && rest.starts_with('*') => {
                rest = rest.trim_start_matches('*');
                out.push_str("(?s:.*)");
            }
            '*' if paths => out.push_str("[^/]*"),
            '*' => out.push_str("(?s:.*)"),
            '?' if paths => out.push_str("[^/]"),
            '?' => out.push_str("(?s:.)"),
            _ => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// Match `text` against a glob; with `paths`, `*` and `?` never match `/`, and `**/`
/// also matches no directory at all.
pub fn glob_match(pattern: &str, text: &str, paths: bool) -> bool {
    if paths {
        Glob::path(pattern).is_match(text)
    } else {
        Glob::command(pattern).is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_wildcards_cross_everything() {
        let g = Glob::command("cargo test*");
        assert!(g.is_match("cargo test"));
        assert!(g.is_match("cargo test -p 'a b'/c"));
        assert!(g.is_match("cargo tests"), "`*` is not a word boundary");
        assert!(!g.is_match("cargo tes"));
        assert!(!g.is_match("xcargo test"));
        assert!(Glob::command("ls ?").is_match("ls /"));
        assert!(!Glob::command("ls ?").is_match("ls ab"));
        assert!(Glob::command("a*b\nc").is_match("a\nx b\nc"));
    }

    #[test]
    fn regex_syntax_in_a_pattern_is_literal() {
        assert!(Glob::command("echo (a|b) [x] {y} $ ^ .+").is_match("echo (a|b) [x] {y} $ ^ .+"));
        assert!(!Glob::command("echo a.c").is_match("echo abc"));
        assert!(Glob::command("échø *").is_match("échø ü"));
    }

    #[test]
    fn path_wildcards_stay_in_a_directory() {
        let g = Glob::path("src/**/*.rs");
        assert!(g.is_match("src/lib.rs"));
        assert!(g.is_match("src/a/b/c.rs"));
        assert!(!g.is_match("src/a/b/c.txt"));
        assert!(!g.is_match("lib.rs"));
        assert!(Glob::path("*.md").is_match("README.md"));
        assert!(!Glob::path("*.md").is_match("docs/README.md"));
        assert!(Glob::path("docs/**").is_match("docs/a/b"));
        assert!(!Glob::path("a?c").is_match("a/c"));
        assert!(Glob::path("/tmp/out/**").is_match("/tmp/out/x/y.txt"));
    }

    #[test]
    fn exact_patterns_and_continuations() {
        assert!(Glob::command("echo ok > status.txt").is_exact());
        assert!(!Glob::command("ls*").is_exact());
        let g = Glob::command("touch*");
        assert!(g.matches_any_continuation("touch"));
        assert!(g.matches_any_continuation("touch a"));
        assert!(!g.matches_any_continuation("tou"));
        assert!(!Glob::command("touch").matches_any_continuation("touch"));
        assert!(!Glob::command("touch *").matches_any_continuation("touch"));
        assert!(Glob::command("*").matches_any_continuation(""));
        assert!(Glob::command("git log ?*").matches_any_continuation("git log -n"));
    }

    #[test]
    fn many_stars_on_a_long_text_do_not_backtrack() {
        let text = "a".repeat(100_000);
        let g = Glob::command("*a*a*a*a*a*a*a*a*a*a*b");
        assert!(!g.is_match(&text));
        assert!(Glob::command("*a*a*a*a*a*a*a*a*a*a*").is_match(&text));
        assert!(!Glob::path("**/*a*a*a*a*a*a*a*b").is_match(&text));
    }
}
