//! The workflow engine: schedules steps, runs their turns, checks their outputs.

pub mod agent;
pub mod approvals;
pub mod context;
pub mod event;
pub mod output;
pub mod spec;
pub mod scheduler;
mod start;
pub mod unit;

pub use scheduler::{RunReport, StepRecord, execute};
