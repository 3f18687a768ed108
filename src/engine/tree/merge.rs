//! [`Merge`]: what closes an isolated step that succeeded: its units' patches merged in
//! element order (never in the order they finished) onto the step's base, in a temporary
//! index with a three-way merge where context does not match, then applied to the
//! working tree's files as one patch. Either all of the step's changes reach the working
//! tree or none do. When patches conflict, nothing is applied: the step fails naming
//! the files and hunks, or, with `on_conflict`, the merge tree is kept (the clean patches
//! applied, the others with conflict markers where git could write them) for the repair.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::blocking::blocking;
use super::conflict::{Conflict, ConflictPatch, MergeTree, describe};
use super::patch::Patch;
use super::setup::TreeSetup;
use crate::engine::event::Status;
use crate::engine::unit::{Unit, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::git::{Applied, GitError, Repo, applied_already, apply_to_tree, merge_patches};

/// The merge of an isolated step's patches.
pub(in crate::engine) struct Merge {
    pub key: UnitKey,
    pub step: String,
    pub setup: Arc<TreeSetup>,
    /// The units' patches, in element order (each with its element).
    pub patches: Vec<(Option<usize>, Patch)>,
    /// Whether a repair step waits for the merge tree when patches conflict.
    pub repair: bool,
}

impl Unit for Merge {
    fn run(self: Box<Self>, _link: UnitLink) -> UnitFuture {
        let key = self.key;
        Box::pin(async move {
            blocking(move || self.merge()).await.unwrap_or_else(|why| {
                UnitResult::failed(key, format!("could not merge its patches: {why}"))
            })
        })
    }
}

impl Merge {
    fn merge(self) -> Result<UnitResult, GitError> {
        let Some(repo) = self.setup.repo.clone() else {
            return Ok(UnitResult::failed(
                self.key,
                "not in a git repository".into(),
            ));
        };
        let base = self.patches[0].1.base.clone();
        if let [(_, only)] = self.patches.as_slice() {
            let patch = only.copy_as(&self.setup, &self.step)?;
            return Ok(apply(&repo, &self.setup, self.key, &self.step, patch));
        }
        let files: Vec<_> = self
            .patches
            .iter()
            .map(|(_, p)| self.setup.record.join(&p.file))
            .collect();
        let refs: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
        let merged = merge_patches(&repo, &base, &refs)?;
        if merged.conflicts.is_empty() {
            let patch =
                Patch::collect(&repo, &self.setup, (&base, &base), &merged.tree, &self.step)?;
            return Ok(match patch {
                Some(patch) => apply(&repo, &self.setup, self.key, &self.step, patch),
                None => succeeded(self.key, None),
            });
        }
        self.conflicted(&repo, &base, &files, &merged)
    }

    /// The result of a merge whose patches conflict: the step fails with what conflicts
    /// (and, when a repair step waits, the merge tree it works in).
    fn conflicted(
        &self,
        repo: &Repo,
        base: &str,
        files: &[PathBuf],
        merged: &Applied,
    ) -> Result<UnitResult, GitError> {
        let texts: Vec<(Option<usize>, Patch, String)> = self
            .patches
            .iter()
            .zip(files)
            .map(|((e, p), f)| {
                (
                    *e,
                    p.clone(),
                    std::fs::read_to_string(f).unwrap_or_default(),
                )
            })
            .collect();
        let mut lines = describe(&texts, &merged.conflicts);
        let mut conflict = Conflict {
            tree: None,
            files: Vec::new(),
            message: String::new(),
            patches: merged
                .conflicts
                .iter()
                .map(|(n, _, _)| ConflictPatch {
                    element: self.patches[*n].0,
                    file: files[*n].clone(),
                    files: self.patches[*n].1.paths().map(str::to_string).collect(),
                    markers: false,
                })
                .collect(),
        };
        if self.repair {
            conflict.tree = Some(self.merge_tree(repo, base, &merged.tree, &mut conflict)?);
        } else {
            let record = self.setup.shown.join("patches");
            lines.push(format!(
                "nothing was applied; every element's patch is kept in `{}`",
                record.display()
            ));
        }
        conflict.message = lines.join("\n");
        let why = format!("its patches conflict:\n{}", conflict.message);
        let mut result = UnitResult::failed(self.key, why);
        result.conflict = Some(Box::new(conflict));
        Ok(result)
    }

    /// The merge tree for the repair: the clean patches merged, then each conflicting
    /// one applied with conflict markers where git can write them.
    fn merge_tree(
        &self,
        repo: &Repo,
        base: &str,
        tree: &str,
        conflict: &mut Conflict,
    ) -> Result<MergeTree, GitError> {
        let commit = repo.commit(tree, base)?;
        let path = self.setup.worktree(&format!("{}.merge", self.step));
        if path.exists() {
            repo.remove_worktree(&path)?;
        }
        repo.add_worktree(&path, &commit)?;
        for patch in &mut conflict.patches {
            let before = repo.unmerged(&path)?;
            let (clean, _) = repo.apply_with_markers(&path, &patch.file)?;
            let after = repo.unmerged(&path)?;
            patch.markers = clean || after.len() > before.len();
        }
        conflict.files = repo.unmerged(&path)?;
        Ok(MergeTree {
            path,
            base: base.to_string(),
        })
    }
}

/// Applies the step's `patch` to the working tree: the step succeeds with it, or fails
/// when it no longer applies (the tree changed under it while the step ran). A patch the
/// tree has already (a resumed run whose earlier session applied it and was killed before
/// it could say so) counts as applied, never twice.
pub(super) fn apply(
    repo: &Repo,
    setup: &TreeSetup,
    key: UnitKey,
    step: &str,
    patch: Patch,
) -> UnitResult {
    let file = setup.record.join(&patch.file);
    match apply_to_tree(repo.root(), &file) {
        Ok(()) => succeeded(key, Some(patch)),
        Err(_) if applied_already(repo.root(), &file) => succeeded(key, Some(patch)),
        Err(e) => {
            let mut result = UnitResult::failed(
                key,
                format!(
                    "the changes of `{step}` no longer apply to the working tree, which changed while it ran; nothing was applied (the patch is kept in `{}`): {e}",
                    setup.shown.join(&patch.file).display()
                ),
            );
            result.patch = Some(Box::new(patch));
            result
        }
    }
}

pub(super) fn succeeded(key: UnitKey, patch: Option<Patch>) -> UnitResult {
    let mut result = UnitResult::new(key);
    result.status = Status::Succeeded;
    result.patch = patch.map(Box::new);
    result
}
