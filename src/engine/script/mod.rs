//! The script kind: a unit that runs a step's `run:` with its shell, no agent, no tokens.

mod process;
mod unit;

pub(super) use process::{Ended, Invocation, run};
pub(super) use unit::{ScriptBody, render_env};
