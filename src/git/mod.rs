//! The `git` command line, as weft uses it to give a step a tree of its own: find the
//! repository, snapshot a working tree without touching its index, add and remove detached
//! worktrees, diff two trees into a patch and apply patches. It uses nothing else from weft
//! but the reaper's note of the children weft starts itself (so that a `weft run`, which
//! reaps orphans, never takes the exit status of a git command).
//!
//! weft runs the `git` program rather than linking a git library: every machine with a
//! repository has it, it reads the repository's own configuration (filters, ignore rules,
//! worktree layout) exactly as the user's git does, and worktrees, `apply --3way` and the
//! index are its stable command-line interface.

mod command;
mod error;
mod patch;
mod repo;
mod worktrees;

pub use command::Git;
pub use error::GitError;
pub use patch::{
    Applied, Change, ChangeKind, applied_already, applies_to_tree, apply_to_tree, conflict_hunks,
    merge_patches,
};
pub use repo::{Repo, Snapshot};
pub use worktrees::{WORKTREE_PREFIX, leftover_pid, worktree_name};
