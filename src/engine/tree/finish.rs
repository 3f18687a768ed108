//! [`Finish`]: what closes an isolated step after its repair step: the repaired merge
//! tree becomes the step's patch (unless conflict markers are left or it changed files
//! outside the step's `writes`) and is applied to the working tree; when the repair
//! failed, the tree is discarded and the step fails. The merge tree is removed either way.

use std::sync::Arc;

use super::blocking::blocking;
use super::conflict::MergeTree;
use super::merge::apply;
use super::patch::Patch;
use super::scope::WriteScope;
use super::setup::TreeSetup;
use crate::engine::unit::{Unit, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::git::GitError;

/// Applies (or discards) a repaired merge tree.
pub(in crate::engine) struct Finish {
    pub key: UnitKey,
    pub step: String,
    pub setup: Arc<TreeSetup>,
    pub tree: MergeTree,
    /// The repair step's id when it succeeded; else why the step fails.
    pub repaired: Result<String, String>,
    pub scope: Option<WriteScope>,
}

impl Unit for Finish {
    fn run(self: Box<Self>, _link: UnitLink) -> UnitFuture {
        let key = self.key;
        Box::pin(async move {
            blocking(move || self.finish()).await.unwrap_or_else(|why| {
                UnitResult::failed(key, format!("could not apply the repaired tree: {why}"))
            })
        })
    }
}

impl Finish {
    fn finish(self) -> Result<UnitResult, GitError> {
        let Some(repo) = self.setup.repo.clone() else {
            return Ok(UnitResult::failed(
                self.key,
                "not in a git repository".into(),
            ));
        };
        let outcome = self.outcome(&repo);
        repo.remove_worktree(&self.tree.path)?;
        outcome
    }

    fn outcome(&self, repo: &crate::git::Repo) -> Result<UnitResult, GitError> {
        let repair = match &self.repaired {
            Ok(repair) => repair,
            Err(why) => return Ok(UnitResult::failed(self.key, why.clone())),
        };
        let base = &self.tree.base;
        let to = repo.tree_of(&self.tree.path, &[])?;
        let markers = repo.conflict_markers(base, &to)?;
        if !markers.is_empty() {
            let shown: Vec<String> = markers.iter().take(5).map(|m| format!("`{m}`")).collect();
            let why = format!(
                "repair step `{repair}` left conflict markers ({}); nothing was applied",
                shown.join(", ")
            );
            return Ok(UnitResult::failed(self.key, why));
        }
        let Some(patch) = Patch::collect(repo, &self.setup, (base, base), &to, &self.step)? else {
            return Ok(super::merge::succeeded(self.key, None));
        };
        if let Some(scope) = &self.scope {
            let outside = scope.outside(patch.paths());
            if !outside.is_empty() {
                let why = scope.violation(&outside, "so the repaired tree is not applied");
                return Ok(UnitResult::failed(self.key, why));
            }
        }
        Ok(apply(repo, &self.setup, self.key, &self.step, patch))
    }
}
