//! The unit interface: a unit is one piece of a step the scheduler runs — the step itself,
//! or one element of its fan-out. Each step kind is one type implementing [`Unit`]; the
//! scheduler starts units, cancels them and collects their results without knowing which
//! kind it runs. A running unit talks to the scheduler only through its [`UnitLink`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::agent::{AgentEvent, StopReason, Usage};
use super::event::Status;
use super::looping::IterationRecord;
use super::tree::{Conflict, Patch};
use crate::template::TemplateError;
use crate::vocab::format_duration;

/// Which unit: the step's index in the run spec, and the fan-out element (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitKey {
    pub step: usize,
    pub index: Option<usize>,
}

/// A unit's work, boxed so that every kind has the same type.
pub type UnitFuture = Pin<Box<dyn Future<Output = UnitResult> + Send>>;

/// One kind of unit: an agent turn, a script run, a gate, or a loop of turns or scripts.
pub trait Unit: Send {
    /// Runs the unit to its end: reports progress through `link`, stops soon after
    /// `link.stop` turns to a reason, and always ends with a result (never panics on
    /// what it runs).
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture;
}

/// What a running unit holds of the scheduler.
pub struct UnitLink {
    /// Where it reports progress.
    pub sender: UnitSender,
    /// Turns to a reason when the scheduler cancels the run's units.
    pub stop: watch::Receiver<Option<StopReason>>,
}

/// Sends a unit's messages to the scheduler, tagged with its key.
#[derive(Clone)]
pub struct UnitSender {
    pub(super) key: UnitKey,
    pub(super) tx: mpsc::UnboundedSender<(UnitKey, UnitMsg)>,
}

impl UnitSender {
    /// A sender of `key`'s messages into `tx` (a wrapper unit that relays its inner
    /// unit's messages makes one).
    pub(super) fn new(key: UnitKey, tx: mpsc::UnboundedSender<(UnitKey, UnitMsg)>) -> Self {
        Self { key, tx }
    }

    /// Reports `msg`; a scheduler that is gone is not an error.
    pub fn send(&self, msg: UnitMsg) {
        let _ = self.tx.send((self.key, msg));
    }
}

/// What a running unit tells the scheduler.
#[derive(Debug)]
pub enum UnitMsg {
    /// An attempt started (a turn on `thread_id`) with this input: a prompt, a script, a
    /// question; in iteration `iteration` of a loop.
    Started {
        thread_id: Option<String>,
        attempt: u32,
        prompt: String,
        iteration: Option<u32>,
    },
    /// Something happened inside the attempt.
    Event(AgentEvent),
    /// The unit tries again.
    Retrying { attempt: u32, reason: String },
    /// An iteration of a loop finished.
    Iteration(IterationRecord),
    /// A gate waits for an answer nobody here can give.
    Waiting { question: String },
}

/// A finished unit.
#[derive(Debug, Clone)]
pub struct UnitResult {
    pub key: UnitKey,
    pub status: Status,
    pub output: Value,
    pub error: Option<String>,
    pub thread_id: Option<String>,
    pub usage: Usage,
    pub attempts: u32,
    pub duration: Duration,
    /// The agent is gone or broke the protocol: the run cannot go on.
    pub fatal: bool,
    /// A script's exit code (none when it did not exit by itself).
    pub exit_code: Option<i32>,
    /// A script's stderr (its tail, when it was long).
    pub stderr: Option<String>,
    /// A loop's iterations' outputs, in order (earlier sessions' included).
    pub iterations: Option<Vec<Value>>,
    /// The files it changed, when it changed any in a tree weft tracks.
    pub patch: Option<Box<Patch>>,
    /// Its step's patches conflict (the result of a step's merge).
    pub conflict: Option<Box<Conflict>>,
    /// Served from the result cache: the tokens its stored result took (saved).
    pub cached: Option<Usage>,
}

impl UnitResult {
    /// A unit that has not run (yet): failed, with nothing to show.
    pub fn new(key: UnitKey) -> Self {
        Self {
            key,
            status: Status::Failed,
            output: Value::Null,
            error: None,
            thread_id: None,
            usage: Usage::default(),
            attempts: 0,
            duration: Duration::ZERO,
            fatal: false,
            exit_code: None,
            stderr: None,
            iterations: None,
            patch: None,
            conflict: None,
            cached: None,
        }
    }

    /// A unit that could not start: `error` says why.
    pub fn failed(key: UnitKey, error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::new(key)
        }
    }

    /// A fan-out element an earlier session finished, from its `record`.
    pub fn kept(key: UnitKey, record: &super::outcome::StepRecord) -> Self {
        let text = |v: &Value| v.as_str().map(str::to_string);
        Self {
            status: record.status,
            output: record.output.clone(),
            error: record.error.clone(),
            thread_id: record.thread_id.clone(),
            usage: record.usage,
            attempts: record.attempts,
            duration: Duration::from_millis(record.duration_ms),
            exit_code: record
                .exit_code
                .as_ref()
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok()),
            stderr: record.stderr.as_ref().and_then(text),
            iterations: record
                .iterations
                .as_ref()
                .and_then(Value::as_array)
                .cloned(),
            patch: record.patch.clone().map(Box::new),
            ..Self::new(key)
        }
    }

    /// A unit that never ran.
    pub fn skipped(key: UnitKey, reason: String) -> Self {
        Self {
            status: Status::Skipped,
            ..Self::failed(key, reason)
        }
    }
}

/// Why a unit could not start; the message becomes its step's error.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// A template of the step did not render (`what`: "prompt", "`resume` thread id").
    #[error("the {what} could not be rendered: {source}")]
    Render {
        what: &'static str,
        #[source]
        source: TemplateError,
    },
    /// The step's tree cannot be set up (`isolation` outside a git repository, a `cwd`
    /// outside the repository).
    #[error("{0}")]
    Tree(String),
    /// A templated policy rendered to something it cannot be.
    #[error("`{what}` rendered to `{value}`, which is not one of {expected}")]
    Policy {
        what: &'static str,
        value: String,
        expected: String,
    },
}

/// Describes why weft stopped a turn, for the step's error.
pub fn describe_stop(reason: &StopReason) -> String {
    describe_stop_as(reason, "the turn was interrupted")
}

/// Describes why weft stopped a unit, ending with what became of it (`the script was
/// stopped`).
pub fn describe_stop_as(reason: &StopReason, ended: &str) -> String {
    match reason {
        StopReason::Timeout(t) => format!("timed out after {}; {ended}", format_duration(*t)),
        StopReason::StepBudget(n) => {
            format!("exceeded the token budget of {n} per turn; {ended}")
        }
        StopReason::RunBudget(n) => {
            format!("exceeded the run's token budget of {n}; {ended}")
        }
        StopReason::RunTimeout(t) => {
            format!("the run timed out after {}; {ended}", format_duration(*t))
        }
        StopReason::Cancelled => "interrupted".into(),
    }
}
