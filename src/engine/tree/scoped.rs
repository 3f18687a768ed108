//! [`Scoped`]: a unit of any kind that runs in the shared working tree under `writes`.
//! Its changes are what differs between the tree before and after it: in a git
//! repository two snapshots (kept as the unit's patch), elsewhere two scans of its
//! `cwd`. Everything that changed meanwhile counts, including what other steps running
//! at the same time wrote; `isolation: worktree` tells one step's changes apart exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::blocking::blocking;
use super::patch::Patch;
use super::scan::{changed, scan};
use super::scope::WriteScope;
use super::setup::TreeSetup;
use crate::engine::event::Status;
use crate::engine::unit::{Unit, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::git::{Repo, Snapshot};

/// A unit wrapped to have its changes in the shared tree checked against `writes`.
pub(super) struct Scoped {
    pub inner: Box<dyn Unit>,
    pub key: UnitKey,
    pub setup: Option<Arc<TreeSetup>>,
    /// The step's `cwd` (absolute).
    pub cwd: PathBuf,
    /// `writes`, relative to the repository's top level (git) or to `cwd` (a scan).
    pub scope: WriteScope,
    pub name: String,
}

/// The tree before the unit ran.
enum Before {
    Git(Repo, Arc<TreeSetup>, Snapshot),
    Scan(BTreeMap<String, Vec<u8>>),
}

impl Unit for Scoped {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

impl Scoped {
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let Scoped {
            inner,
            key,
            setup,
            cwd,
            scope,
            name,
        } = self;
        let own = setup.as_ref().map(|s| s.own.clone()).unwrap_or_default();
        let before = match before(setup.as_ref(), &cwd, &own).await {
            Ok(before) => before,
            Err(why) => {
                let why = format!("could not read the working tree before the step: {why}");
                return UnitResult::failed(key, why);
            }
        };
        let mut result = inner.run(link).await;
        if result.status != Status::Succeeded {
            return result;
        }
        match after(before, cwd, own, name).await {
            Ok((paths, patch)) => {
                result.patch = patch.map(Box::new);
                let outside = scope.outside(paths.iter().map(String::as_str));
                if !outside.is_empty() {
                    let fate = "they stay in the working tree (`isolation: worktree` keeps a step's changes out of it until they are checked)";
                    result.status = Status::Failed;
                    result.error = Some(scope.violation(&outside, fate));
                }
            }
            Err(e) => {
                result.status = Status::Failed;
                result.error = Some(format!("could not read what the step changed: {e}"));
            }
        }
        result
    }
}

/// The paths changed since `before` (and, in a git repository, the patch of them).
async fn after(
    before: Before,
    cwd: PathBuf,
    own: Vec<PathBuf>,
    name: String,
) -> Result<(Vec<String>, Option<Patch>), String> {
    match before {
        Before::Git(repo, setup, snap) => {
            let patch = blocking(move || {
                let to = repo.tree_of(repo.root(), &setup.own)?;
                Patch::collect(&repo, &setup, (&snap.commit, &snap.tree), &to, &name)
            })
            .await?;
            let paths = patch.iter().flat_map(|p| p.paths()).map(str::to_string);
            Ok((paths.collect(), patch))
        }
        Before::Scan(old) => {
            let paths = blocking(move || Ok::<_, String>(changed(&old, &scan(&cwd, &own)))).await?;
            Ok((paths, None))
        }
    }
}

/// The tree before the unit: a snapshot in a git repository, else a scan of `cwd`.
async fn before(
    setup: Option<&Arc<TreeSetup>>,
    cwd: &Path,
    own: &[PathBuf],
) -> Result<Before, String> {
    let git = setup.and_then(|s| Some((s.repo.clone()?, s.clone())));
    match git {
        Some((repo, setup)) if setup.relative(cwd).is_some() => {
            let r = repo.clone();
            let own = own.to_vec();
            let snap = blocking(move || r.snapshot(&own)).await?;
            Ok(Before::Git(repo, setup, snap))
        }
        _ => {
            let (cwd, own) = (cwd.to_path_buf(), own.to_vec());
            blocking(move || Ok::<_, String>(Before::Scan(scan(&cwd, &own)))).await
        }
    }
}
