//! The result cache in the engine: [`CacheRun`] (the cache a run uses), [`Draft`] (a
//! unit's key made when it is made) and [`Cached`], the wrapper unit that serves a stored
//! result or runs the unit it wraps and stores what it gave.

mod draft;
mod preview;
mod replay;
mod setup;
mod unit;

pub(super) use draft::draft;
pub use preview::{Verdict, preview};
pub use setup::{CacheRun, changes_tree, eligibility};
pub(super) use unit::Cached;
