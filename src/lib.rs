//! weft: run declarative YAML workflows of Codex agent turns.
//!
//! Two layers in one crate: [`client`] speaks the `codex app-server` JSON-RPC
//! protocol (the library half), and the workflow runner on top of it loads,
//! validates, plans and executes workflow files (the `weft` binary).
#![deny(clippy::print_stdout)]

pub mod cassette;
pub mod cli;
pub mod client;
pub mod engine;
pub mod error;
pub mod git;
#[cfg(feature = "testing")]
pub mod mock;
pub mod plan;
pub mod reaper;
pub mod redact;
pub mod report;
pub mod shell;
pub mod template;
pub mod typing;
pub mod vocab;
pub mod workflow;
