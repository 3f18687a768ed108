//! The workflow engine: runs a [`spec::RunSpec`] on an [`agent::Agent`]. The scheduler owns
//! the run's state; each step runs as units (a turn today) behind one interface; events
//! go to a sink, never to the terminal.

mod active_turns;
pub mod agent;
pub mod approvals;
mod build;
mod codex;
mod context;
mod emit;
pub mod event;
mod executor;
mod gates;
mod halt;
mod launch;
mod outcome;
pub mod output;
mod policy;
mod release;
mod resume;
mod scheduler;
pub mod shard;
pub mod spec;
mod step_state;
mod threads;
mod turn;
mod unit;

pub use active_turns::ActiveTurns;
pub use build::{RunOptions, run_spec};
pub use codex::{CodexAgent, CodexConfig, IDLE_THREADS};
pub use gates::fan_out_length;
pub use outcome::{RunReport, StepRecord};
pub use resume::{Seed, SeedElement, fingerprint, kept_steps, sha256_hex};
pub use scheduler::{Sink, execute, execute_seeded};

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
