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

/// One kind of unit (an agent turn today).
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
    /// Reports `msg`; a scheduler that is gone is not an error.
    pub fn send(&self, msg: UnitMsg) {
        let _ = self.tx.send((self.key, msg));
    }
}

/// What a running unit tells the scheduler.
#[derive(Debug)]
pub enum UnitMsg {
    /// An attempt started on `thread_id` with this input.
    Started {
        thread_id: String,
        attempt: u32,
        prompt: String,
    },
    /// Something happened inside the attempt.
    Event(AgentEvent),
    /// The unit tries again.
    Retrying { attempt: u32, reason: String },
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
        }
    }

    /// A unit that could not start: `error` says why.
    pub fn failed(key: UnitKey, error: String) -> Self {
        Self {
            error: Some(error),
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
    /// A templated policy rendered to something it cannot be.
    #[error("`{what}` rendered to `{value}`, which is not one of {expected}")]
    Policy {
        what: &'static str,
        value: String,
        expected: String,
    },
}

/// Describes why weft stopped a unit, for the step's error.
pub fn describe_stop(reason: &StopReason) -> String {
    match reason {
        StopReason::Timeout(t) => {
            format!(
                "timed out after {}; the turn was interrupted",
                format_duration(*t)
            )
        }
        StopReason::StepBudget(n) => {
            format!("exceeded the token budget of {n} per turn; the turn was interrupted")
        }
        StopReason::RunBudget(n) => {
            format!("exceeded the run's token budget of {n}; the turn was interrupted")
        }
        StopReason::RunTimeout(t) => format!(
            "the run timed out after {}; the turn was interrupted",
            format_duration(*t)
        ),
        StopReason::Cancelled => "interrupted".into(),
    }
}
