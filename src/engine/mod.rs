//! The workflow engine: schedules steps, runs their turns, checks their outputs.

pub mod approvals;
pub mod output;
