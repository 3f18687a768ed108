//! The workflow engine: schedules steps, runs their turns, checks their outputs.

pub mod agent;
pub mod approvals;
pub mod context;
pub mod event;
pub mod output;
pub mod scheduler;
pub mod spec;
mod start;
pub mod unit;

pub use scheduler::{RunReport, StepRecord, execute};

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
