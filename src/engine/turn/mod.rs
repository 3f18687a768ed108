//! The turn kind: a unit that runs a step's prompt as turns of the agent on one thread,
//! until its output is valid or its attempts, time or tokens run out.

mod attempts;
mod one_turn;
mod unit;

pub(super) use attempts::backoff;
pub(super) use unit::{TurnBody, render_policies};
