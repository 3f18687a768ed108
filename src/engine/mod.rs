//! The workflow engine: runs a [`spec::RunSpec`] on an [`agent::Agent`]. The scheduler owns
//! the run's state; each step runs as units (turns, scripts, gates, loops of turns or
//! scripts) behind one interface; events go to a sink, never to the terminal.

mod active_turns;
pub mod agent;
pub mod approvals;
mod build;
pub mod cache;
mod cached;
mod calls;
mod codex;
mod context;
mod emit;
pub mod event;
mod executor;
pub mod gate;
mod gates;
mod halt;
mod kinds;
mod launch;
mod looping;
mod outcome;
pub mod output;
mod policy;
mod pools;
mod preflight;
mod release;
mod resume;
mod scheduler;
mod script;
pub mod shard;
pub mod spec;
mod step_state;
mod threads;
pub mod tree;
mod turn;
mod unit;

pub use active_turns::ActiveTurns;
pub use build::{RunOptions, run_spec};
pub use cached::{CacheRun, Verdict, eligibility, preview};
pub use codex::{CodexAgent, CodexConfig, IDLE_THREADS};
pub use gates::fan_out_length;
pub use looping::IterationRecord;
pub use outcome::{RunReport, StepRecord};
pub use preflight::check_policies;
pub use resume::{Seed, SeedElement, element_steps, fingerprint, kept_steps, sha256_hex};
pub use scheduler::{Sink, execute, execute_gated, execute_seeded};

#[cfg(test)]
mod compose_tests;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod resume_tests;
#[cfg(test)]
mod steps_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tree_tests;
