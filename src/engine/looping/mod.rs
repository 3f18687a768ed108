//! The loop wrapper: a unit that repeats a turn or a script (an [`IterationBody`] makes
//! each iteration's unit) until its `until` holds, at most `max_iterations` times. Each
//! finished iteration is reported (and so saved in the run record), and a resumed run
//! continues after the last one saved.

mod unit;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agent::Usage;
use super::event::Status;
use super::threads::ThreadSource;
use super::unit::{Unit, UnitError};

pub(super) use unit::{LoopUnit, UntilRun};

/// Makes the unit of one run of a step: iteration `iteration` of a loop (or the only run,
/// `None`), rendered in `context`; a turn runs on `thread`.
pub(super) trait IterationBody: Send + Sync {
    fn make(
        &self,
        context: &Value,
        iteration: Option<u32>,
        thread: Option<ThreadSource>,
    ) -> Result<Box<dyn Unit>, UnitError>;
}

/// One finished iteration of a loop, as reported and saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// From 1.
    pub number: u32,
    pub status: Status,
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub usage: Usage,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thread_id: Option<String>,
    pub attempts: u32,
    pub duration_ms: u64,
    /// The loop's condition held after it.
    pub ended: bool,
}
