//! Trees of isolated steps: a unit with `isolation: worktree` runs in a git worktree of
//! its own ([`Isolated`], a wrapper around a unit of any kind), a step's patches come back
//! to the working tree merged in element order ([`Merge`]), a repair step resolves a
//! conflict in the merge tree ([`Finish`] then applies it), and `writes` is checked on
//! what really changed ([`WriteScope`]; [`Scoped`] for a step in the shared tree).

mod base;
mod blocking;
mod conflict;
mod finish;
mod isolated;
mod merge;
mod patch;
mod place;
mod scan;
mod scope;
mod scoped;
mod setup;

pub(in crate::engine) use blocking::blocking;
pub use conflict::{Conflict, ConflictPatch, MergeTree};
pub(super) use finish::Finish;
pub(super) use merge::Merge;
pub use patch::{FileChange, Patch};
pub(super) use place::Trees;
pub(crate) use scan::scan;
pub use scope::WriteScope;
pub use setup::TreeSetup;
