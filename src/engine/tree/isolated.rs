//! [`Isolated`]: a unit of any kind run in a git worktree of its own. The worktree is
//! added at the step's base (or, for a repair step, is the merge tree of the step it
//! repairs), the inner unit runs with its `cwd` inside it, then what really changed is
//! read from the tree (`git add -A` into a temporary index: tracked and untracked files,
//! ignored ones left out), kept as the unit's patch, and checked against `writes`. A new
//! worktree is removed when the unit ends, however it ends.

use std::path::PathBuf;
use std::sync::Arc;

use super::base::StepBase;
use super::blocking::blocking;
use super::conflict::MergeTree;
use super::patch::Patch;
use super::scope::WriteScope;
use super::setup::TreeSetup;
use crate::engine::event::Status;
use crate::engine::unit::{Unit, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::git::Repo;

/// Where an isolated unit's tree comes from.
pub(super) enum TreeSource {
    /// A new worktree at `path`, at the step's base.
    New { base: Arc<StepBase>, path: PathBuf },
    /// The merge tree of the step a repair step repairs (kept when the unit ends).
    Merge(MergeTree),
}

/// A unit wrapped to run in a tree of its own.
pub(super) struct Isolated {
    pub inner: Box<dyn Unit>,
    pub key: UnitKey,
    pub setup: Arc<TreeSetup>,
    pub tree: TreeSource,
    /// The name of its patch file (`split.1`).
    pub name: String,
    pub scope: Option<WriteScope>,
}

impl Unit for Isolated {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

impl Isolated {
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let Isolated {
            inner,
            key,
            setup,
            tree,
            name,
            scope,
        } = self;
        let Some(repo) = setup.repo.clone() else {
            let why = "`isolation: worktree` needs a git repository".to_string();
            return UnitResult::failed(key, why);
        };
        let (path, from) = match prepare(&repo, &setup, &tree).await {
            Ok(ready) => ready,
            Err(why) => return UnitResult::failed(key, why),
        };
        let mut result = inner.run(link).await;
        if matches!(result.status, Status::Succeeded | Status::Failed) {
            let kept = matches!(tree, TreeSource::Merge(_));
            let read = collect(repo.clone(), setup, path.clone(), from, name).await;
            judge(&mut result, read, scope.as_ref(), kept);
        }
        if let TreeSource::New { .. } = tree {
            let _ = blocking(move || repo.remove_worktree(&path)).await;
        }
        result
    }
}

/// The tree's directory, made if new, and the commit and tree its changes count from.
async fn prepare(
    repo: &Repo,
    setup: &Arc<TreeSetup>,
    tree: &TreeSource,
) -> Result<(PathBuf, (String, String)), String> {
    match tree {
        TreeSource::New { base, path } => {
            let snap = base
                .get(setup)
                .await
                .map_err(|e| format!("could not snapshot the working tree: {e}"))?;
            let (repo, path, commit) = (repo.clone(), path.clone(), snap.commit.clone());
            blocking(move || {
                if path.exists() {
                    repo.remove_worktree(&path)?;
                }
                repo.add_worktree(&path, &commit).map(|()| path)
            })
            .await
            .map(|path| (path, (snap.commit, snap.tree)))
            .map_err(|e| format!("could not add a worktree: {e}"))
        }
        TreeSource::Merge(merge) => {
            let (repo, path, base) = (repo.clone(), merge.path.clone(), merge.base.clone());
            blocking(move || {
                let tree = repo.tree_of(&path, &[])?;
                let commit = repo.commit(&tree, &base)?;
                Ok::<_, crate::git::GitError>((path, (commit, tree)))
            })
            .await
            .map_err(|e| format!("could not read the merge tree: {e}"))
        }
    }
}

/// The unit's patch: its tree's changes since `from` (a commit and its tree).
async fn collect(
    repo: Repo,
    setup: Arc<TreeSetup>,
    path: PathBuf,
    from: (String, String),
    name: String,
) -> Result<Option<Patch>, String> {
    blocking(move || {
        let to = repo.tree_of(&path, &[])?;
        Patch::collect(&repo, &setup, (&from.0, &from.1), &to, &name)
    })
    .await
}

/// Takes the patch into `result`; a succeeded unit that changed files outside `scope`
/// fails. `kept`: the tree outlives the unit (a repair's merge tree).
fn judge(
    result: &mut UnitResult,
    read: Result<Option<Patch>, String>,
    scope: Option<&WriteScope>,
    kept: bool,
) {
    let patch = match read {
        Ok(patch) => patch,
        Err(e) => {
            result.status = Status::Failed;
            result.error = Some(format!("could not read the changes in its worktree: {e}"));
            return;
        }
    };
    if let (Some(scope), Some(patch), Status::Succeeded) = (scope, &patch, result.status) {
        let outside = scope.outside(patch.paths());
        if !outside.is_empty() {
            let fate = match kept {
                true => "so the repaired tree is not applied",
                false => {
                    "they were discarded with its worktree, so the working tree never saw them"
                }
            };
            result.status = Status::Failed;
            result.error = Some(scope.violation(&outside, fate));
        }
    }
    result.patch = patch.map(Box::new);
}
