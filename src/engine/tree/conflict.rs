//! [`Conflict`]: a step's patches that did not merge, what weft says about them, and the
//! merge tree a repair step works in; as the repair step's prompt reads it (`conflict`).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::patch::Patch;
use crate::git::conflict_hunks;

/// The tree where a step's patches were merged, kept for its repair step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTree {
    /// The worktree's directory.
    pub path: PathBuf,
    /// The step's base: the commit its patches apply to.
    pub base: String,
}

/// One patch that did not merge cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictPatch {
    /// Its fan-out element (`None` for a step without `for_each`).
    pub element: Option<usize>,
    /// The patch file, absolute.
    pub file: PathBuf,
    /// The files it changes.
    pub files: Vec<String>,
    /// Whether git applied it with conflict markers; when not, the tree lacks it.
    pub markers: bool,
}

/// A step's patches conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Where the repair step runs (present when the step has one).
    pub tree: Option<MergeTree>,
    /// Files left with conflict markers.
    pub files: Vec<String>,
    /// What weft says (files, hunks, elements).
    pub message: String,
    pub patches: Vec<ConflictPatch>,
}

impl Conflict {
    /// `conflict` as the repair step of step `step` reads it.
    pub fn context(&self, step: &str) -> Value {
        let patches: Vec<Value> = self
            .patches
            .iter()
            .map(|p| {
                json!({
                    "element": p.element,
                    "file": p.file.display().to_string(),
                    "files": p.files,
                    "markers": p.markers,
                })
            })
            .collect();
        json!({ "step": step, "files": self.files, "message": self.message, "patches": patches })
    }
}

/// One line per conflicting patch: which element, the files git could not merge, the
/// hunks of the patch in them, and the earlier elements that changed those files.
pub(super) fn describe(
    patches: &[(Option<usize>, Patch, String)],
    conflicts: &[(usize, Vec<String>, String)],
) -> Vec<String> {
    let left_out: Vec<usize> = conflicts.iter().map(|c| c.0).collect();
    conflicts
        .iter()
        .map(|(n, files, said)| {
            let (element, patch, text) = &patches[*n];
            let files = match files.is_empty() {
                true => patch.paths().map(str::to_string).collect(),
                false => files.clone(),
            };
            let each: Vec<String> = files
                .iter()
                .map(|f| {
                    let hunks = conflict_hunks(text, f).join(", ");
                    let with: Vec<String> = (0..*n)
                        .filter(|m| !left_out.contains(m) && patches[*m].1.paths().any(|p| p == f))
                        .map(|m| name(patches[m].0))
                        .collect();
                    let with = match with.is_empty() {
                        true => String::new(),
                        false => format!(" with {}", with.join(", ")),
                    };
                    let hunks = match hunks.is_empty() {
                        true => String::new(),
                        false => format!(" (hunk {hunks})"),
                    };
                    format!("`{f}`{hunks}{with}")
                })
                .collect();
            let detail = match each.is_empty() {
                true => format!(": {}", said.lines().last().unwrap_or("")),
                false => format!(" in {}", each.join("; ")),
            };
            format!("{} conflicts{detail}", name(*element))
        })
        .collect()
}

fn name(element: Option<usize>) -> String {
    match element {
        Some(i) => format!("element {i}"),
        None => "the step".to_string(),
    }
}
