//! The workflow engine: schedules steps, runs their turns, checks their outputs.

pub mod agent;
pub mod approvals;
mod build;
mod codex;
pub mod context;
pub mod event;
pub mod output;
pub mod scheduler;
pub mod spec;
mod start;
mod turns;
pub mod unit;

pub use build::{RunOptions, run_spec};
pub use codex::{CodexAgent, CodexConfig};
pub use scheduler::{RunReport, StepRecord, execute};
pub use turns::ActiveTurns;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
