//! Reproducing a stored result's file changes, as the run would have made them: the
//! stored patch is written to the run record's `patches/`, then for a unit in its own
//! worktree it must apply cleanly to the working tree as it is now (the step's merge
//! applies it, as it would the unit's own patch); for a unit in the shared tree under
//! `writes`, it is applied at once. When it does not apply, nothing is changed and the
//! unit runs: a result is never served without its changes.

use std::path::PathBuf;

use super::draft::Effect;
use crate::engine::cache::StoredPatch;
use crate::engine::tree::{Patch, TreeSetup};
use crate::git::{GitError, applies_to_tree, apply_to_tree};

/// Why a stored patch was not reproduced.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotReproduced {
    #[error("the run keeps no patches (no git repository)")]
    NoRepository,
    #[error("the stored patch no longer applies to the working tree")]
    DoesNotApply,
    #[error("{0}")]
    Git(#[from] GitError),
}

/// Writes `text` as unit `name`'s patch in the run record and reproduces it as
/// `effect` says; the unit's patch.
pub(super) fn reproduce(
    setup: &TreeSetup,
    effect: Effect,
    name: &str,
    stored: &StoredPatch,
    text: &[u8],
) -> Result<Patch, NotReproduced> {
    let repo = setup.repo.as_ref().ok_or(NotReproduced::NoRepository)?;
    let (path, file) = setup.patch_file(name);
    write(&path, text)?;
    let before = repo.snapshot(&setup.own)?;
    if !applies_to_tree(repo.root(), &path)? {
        let _ = std::fs::remove_file(&path);
        return Err(NotReproduced::DoesNotApply);
    }
    let tree = match effect {
        Effect::Scoped => {
            apply_to_tree(repo.root(), &path)?;
            repo.tree_of(repo.root(), &setup.own)?
        }
        Effect::Isolated | Effect::None => {
            let merged = crate::git::merge_patches(repo, &before.commit, &[path.as_path()])?;
            merged.tree
        }
    };
    Ok(Patch {
        file,
        base: before.commit,
        tree,
        files: stored.files.clone(),
        insertions: stored.insertions,
        deletions: stored.deletions,
    })
}

fn write(path: &PathBuf, text: &[u8]) -> Result<(), GitError> {
    let io = |e| GitError::Io {
        path: path.clone(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}
