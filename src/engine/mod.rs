//! The workflow engine: schedules steps, runs their turns, checks their outputs.

pub mod agent;
pub mod approvals;
mod build;
mod codex;
mod emit;
pub mod event;
mod outcome;
pub mod output;
mod policy;
mod resume;
pub mod scheduler;
pub mod spec;
mod start;
mod turns;
pub mod unit;

pub use build::{RunOptions, run_spec};
pub use codex::{CodexAgent, CodexConfig};
pub use outcome::{RunReport, StepRecord};
pub use resume::{Seed, fingerprint, kept_steps, sha256_hex};
pub use scheduler::{execute, execute_seeded};
pub use turns::ActiveTurns;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
