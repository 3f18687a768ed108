//! The gate kind: a unit whose result is a person's answer, given before the run
//! (`--approve STEP`, `--reject STEP`) or asked by a [`Gatekeeper`] (on a terminal); when
//! nobody can answer, the gate waits, and so does the run once nothing else can go on.

mod keeper;
mod unit;

pub use keeper::{GateQuestion, Gatekeeper, NoGatekeeper, check_reply};
pub(super) use unit::GateUnit;
