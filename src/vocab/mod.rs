//! The shared vocabulary every layer speaks: the policies a step runs under, durations as
//! workflow files write them, and glob patterns. It imports nothing else from weft.

mod duration;
mod environment;
mod glob;
mod policy;

pub use duration::{format_duration, parse_duration};
pub use environment::Environment;
pub use glob::glob_match;
pub use policy::{Approval, Effort, Sandbox};
