//! The shared vocabulary every layer speaks: the policies a step runs under, durations as
//! workflow files write them, glob patterns, and the words of script steps and loops.
//! It imports nothing else from weft.

mod duration;
mod environment;
mod glob;
mod isolation;
mod join;
mod policy;
mod steps;

pub use duration::{format_duration, now_ms, parse_duration};
pub use environment::Environment;
pub use glob::{Glob, glob_match};
pub use isolation::Isolation;
pub use join::Join;
pub use policy::{Approval, Effort, Sandbox};
pub use steps::{LoopThread, OnMax, OutputFormat, Shell};
