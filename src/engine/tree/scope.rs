//! [`WriteScope`]: a step's `writes` globs and where they start, and which of the paths
//! a step really changed fall outside them.

use std::path::{Component, Path, PathBuf};

use crate::vocab::glob_match;

/// The paths a step may change: glob patterns relative to its `cwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteScope {
    pub patterns: Vec<String>,
    /// The step's `cwd` relative to the root of the changed paths (the repository's top
    /// level, or the scanned directory).
    pub cwd: PathBuf,
}

impl WriteScope {
    /// Each of `paths` (relative to the root, `/`-separated) that no pattern matches, as
    /// the step sees it: relative to its `cwd` (`../Cargo.toml` above it).
    pub fn outside<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        paths
            .into_iter()
            .map(|p| relative_to(&self.cwd, p))
            .filter(|p| {
                !self
                    .patterns
                    .iter()
                    .any(|pattern| glob_match(pattern.trim_start_matches("./"), p, true))
            })
            .collect()
    }

    /// Why a step with changes `outside` fails; `where_` says what became of them.
    pub fn violation(&self, outside: &[String], where_: &str) -> String {
        let shown: Vec<String> = outside.iter().take(10).map(|p| format!("`{p}`")).collect();
        let more = match outside.len() {
            n if n > 10 => format!(" and {} more", n - 10),
            _ => String::new(),
        };
        let allowed = match self.patterns.is_empty() {
            true => "nothing".to_string(),
            false => self
                .patterns
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        format!(
            "changed files outside `writes` ({allowed}): {}{more}; {where_}",
            shown.join(", ")
        )
    }
}

/// `path` (relative to the root) relative to `cwd` (relative to the root).
fn relative_to(cwd: &Path, path: &str) -> String {
    let base: Vec<String> = cwd
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let parts: Vec<&str> = path.split('/').collect();
    let common = base
        .iter()
        .zip(&parts)
        .take_while(|(a, b)| a.as_str() == **b)
        .count();
    let mut out: Vec<String> = vec!["..".to_string(); base.len() - common];
    out.extend(parts[common..].iter().map(|s| s.to_string()));
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_globs_are_named_from_the_steps_cwd() {
        let scope = WriteScope {
            patterns: vec!["src/**".into(), "./notes.md".into()],
            cwd: ["crates", "core"].iter().collect(),
        };
        let changed = [
            "crates/core/src/lib.rs",
            "crates/core/notes.md",
            "crates/core/Cargo.toml",
            "Cargo.lock",
            "crates/other/x.rs",
        ];
        assert_eq!(
            scope.outside(changed),
            vec!["Cargo.toml", "../../Cargo.lock", "../other/x.rs"]
        );
        let nothing = WriteScope {
            patterns: vec![],
            cwd: PathBuf::new(),
        };
        assert_eq!(nothing.outside(["a"]), vec!["a"]);
        let message = nothing.violation(&["a".into()], "they stay");
        assert_eq!(
            message,
            "changed files outside `writes` (nothing): `a`; they stay"
        );
    }
}
