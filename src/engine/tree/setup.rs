//! [`TreeSetup`]: what a run's trees need to know: the repository, where worktrees go,
//! where patches are kept, and which paths are weft's own.

use std::path::{Path, PathBuf};

use crate::git::{Repo, worktree_name};

/// Where a run makes the trees of its isolated steps and keeps its units' patches.
#[derive(Debug, Clone)]
pub struct TreeSetup {
    /// The git repository the run works in; `None` outside one.
    pub repo: Option<Repo>,
    /// The run record's directory: patches go to its `patches/`.
    pub record: PathBuf,
    /// The same directory as messages name it (as given: `.weft/runs/ID`).
    pub shown: PathBuf,
    /// Where worktrees are made (default: the system's temporary directory, outside the
    /// repository, so that no tool in a worktree finds the main tree's configuration).
    pub worktrees: PathBuf,
    /// Paths weft writes while the run goes on (its record, event and JUnit files): they
    /// are never counted as a step's changes.
    pub own: Vec<PathBuf>,
    /// The run's id, part of every worktree's name.
    pub run_id: String,
}

impl TreeSetup {
    /// Where the worktree for `what` (`split.2`, `split.merge`) goes.
    pub fn worktree(&self, what: &str) -> PathBuf {
        let name = worktree_name(std::process::id(), &self.run_id, what);
        self.worktrees.join(name)
    }

    /// The patch file `name` (`split.2.patch`), absolute, and as the record names it.
    pub fn patch_file(&self, name: &str) -> (PathBuf, String) {
        let rel = format!("patches/{name}.patch");
        (self.record.join(&rel), rel)
    }

    /// `path` relative to the repository's top level, when it is inside it.
    pub fn relative(&self, path: &Path) -> Option<PathBuf> {
        let root = self.repo.as_ref()?.root();
        let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        full.strip_prefix(root).ok().map(Path::to_path_buf)
    }
}
