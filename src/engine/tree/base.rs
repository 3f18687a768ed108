//! [`StepBase`]: the state of the run a step's worktrees start from, taken once per step
//! (by whichever of its units starts first) so that every element sees the same tree:
//! a snapshot commit of the working tree (`HEAD` plus what earlier steps brought back
//! and any uncommitted work), made without touching the user's index or branch.

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::blocking::blocking;
use super::setup::TreeSetup;
use crate::git::Snapshot;

/// A step's base snapshot, shared by its units.
#[derive(Debug, Default)]
pub(super) struct StepBase {
    cell: OnceCell<Result<Snapshot, String>>,
}

impl StepBase {
    /// The snapshot, taken on first use.
    pub async fn get(&self, setup: &Arc<TreeSetup>) -> Result<Snapshot, String> {
        let setup = setup.clone();
        self.cell
            .get_or_init(|| async move {
                let Some(repo) = setup.repo.clone() else {
                    return Err("the working tree is not in a git repository".to_string());
                };
                blocking(move || repo.snapshot(&setup.own)).await
            })
            .await
            .clone()
    }
}
