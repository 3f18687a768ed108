//! The shared vocabulary every layer speaks: the policies a step runs under, durations as
//! workflow files write them, and glob patterns. It imports nothing else from weft.

mod duration;
mod glob;
mod join;
mod policy;

pub use duration::{format_duration, parse_duration};
pub use glob::glob_match;
pub use join::Join;
pub use policy::{Approval, Effort, Sandbox};
