//! [`Patch`]: a unit's (or a step's) changes as the run record keeps them: a patch file
//! in the record (`git diff --binary --full-index` between two trees, which `git apply`
//! takes back), the commit it applies to, the tree it gives, and the files it changes.
//! A result that changed files has one; the result cache and `weft diff` build on it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::setup::TreeSetup;
use crate::git::{ChangeKind, GitError, Repo};

/// Changes between two trees, kept in the run record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patch {
    /// The patch file, relative to the run record's directory (`patches/split.1.patch`).
    pub file: String,
    /// The commit (a snapshot of the working tree) the patch applies to.
    pub base: String,
    /// The tree the patch gives.
    pub tree: String,
    /// The files it changes, in path order (relative to the repository's top level).
    pub files: Vec<FileChange>,
    pub insertions: u64,
    pub deletions: u64,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    /// `added`, `modified` or `deleted`.
    pub change: String,
}

impl Patch {
    /// The changes from tree `from` (of commit `base`) to tree `to`, written to the
    /// record as `name.patch`; `None` when nothing changed.
    pub fn collect(
        repo: &Repo,
        setup: &TreeSetup,
        (base, from): (&str, &str),
        to: &str,
        name: &str,
    ) -> Result<Option<Patch>, GitError> {
        let changes = repo.changes(from, to)?;
        if changes.is_empty() {
            return Ok(None);
        }
        let text = repo.diff(from, to)?;
        let (path, file) = setup.patch_file(name);
        write(&path, &text)?;
        let lines = |f: fn((u64, u64)) -> u64| changes.iter().filter_map(|c| c.lines).map(f).sum();
        Ok(Some(Patch {
            file,
            base: base.to_string(),
            tree: to.to_string(),
            insertions: lines(|l| l.0),
            deletions: lines(|l| l.1),
            files: changes
                .into_iter()
                .map(|c| FileChange {
                    path: c.path,
                    change: match c.kind {
                        ChangeKind::Added => "added",
                        ChangeKind::Modified => "modified",
                        ChangeKind::Deleted => "deleted",
                    }
                    .into(),
                })
                .collect(),
        }))
    }

    /// The same changes kept under another name (a step's patch that is its one
    /// element's).
    pub fn copy_as(&self, setup: &TreeSetup, name: &str) -> Result<Patch, GitError> {
        let from = setup.record.join(&self.file);
        let (to, file) = setup.patch_file(name);
        let text = std::fs::read(&from).map_err(|e| GitError::Io {
            path: from,
            source: e,
        })?;
        write(&to, &text)?;
        Ok(Patch {
            file,
            ..self.clone()
        })
    }

    /// The paths it changes.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.path.as_str())
    }

    /// "2 files changed, +10 -3".
    pub fn summary(&self) -> String {
        let n = self.files.len();
        let files = if n == 1 { "file" } else { "files" };
        format!(
            "{n} {files} changed, +{} -{}",
            self.insertions, self.deletions
        )
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), GitError> {
    let io = |e| GitError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}
