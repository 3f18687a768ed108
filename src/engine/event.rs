//! The events a run emits. The engine never prints: reporters render these.
//!
//! Serialized as JSON Lines with a dotted `type` (`run.started`, `step.finished`, …);
//! `step` is the step id and `index` the 0-based fan-out element, when there is one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agent::Usage;
use super::kinds::Kind;
use super::tree::Patch;

/// How a step (or a run) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
    /// A gate waits for a person's answer (and so do the steps after it); the run stops
    /// and `weft resume --approve`/`--reject` continues it.
    Waiting,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Interrupted => "interrupted",
            Status::Waiting => "waiting",
        }
    }
}

/// One thing that happened during a run.
///
/// `step.finished` is the largest variant by far; events live for one call of a sink and
/// are passed by reference, so their size is not worth boxing the fields people read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RunEvent {
    #[serde(rename = "run.started")]
    RunStarted {
        run_id: String,
        workflow: String,
        steps: usize,
    },
    #[serde(rename = "step.started")]
    StepStarted {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        /// The thread of a turn (absent for a script or a gate).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        thread_id: Option<String>,
        attempt: u32,
        /// What the attempt runs: a turn's rendered prompt (on a retry the correction), a
        /// script's text, a gate's rendered question. Absent in logs written before weft
        /// recorded it.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        prompt: Option<String>,
        /// `script` or `gate` (absent for a turn).
        #[serde(skip_serializing_if = "Kind::is_turn", default)]
        kind: Kind,
        /// The loop iteration (from 1), in a step with `loop`.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        iteration: Option<u32>,
        /// A fan-out element's `for_each` item: `weft resume` keeps a finished element
        /// only while its index still has this item.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        item: Option<Value>,
    },
    #[serde(rename = "turn.delta")]
    TurnDelta {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        delta: String,
    },
    #[serde(rename = "turn.activity")]
    TurnActivity {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        activity: String,
    },
    #[serde(rename = "turn.usage")]
    TurnUsage {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        usage: Usage,
    },
    /// The agent asked for an approval; `approval.decided` follows with weft's answer.
    #[serde(rename = "approval.requested")]
    ApprovalRequested {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        kind: String,
        subject: String,
    },
    #[serde(rename = "approval.decided")]
    ApprovalDecided {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        kind: String,
        subject: String,
        approved: bool,
        reason: String,
    },
    #[serde(rename = "step.retrying")]
    StepRetrying {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        attempt: u32,
        reason: String,
    },
    #[serde(rename = "step.finished")]
    StepFinished {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        error: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        output: Option<Value>,
        duration_ms: u64,
        usage: Usage,
        /// The thread the step ran on (absent when it never started, or for a fan-out
        /// whose elements ran on several threads).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        thread_id: Option<String>,
        /// How many turns the step (or element) took; 0 when it never started.
        #[serde(default)]
        attempts: u32,
        /// Kept, not run again: the step succeeded in an earlier session of this run
        /// (`weft resume`), or the step or element ran in a shard (`weft merge`).
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        reused: bool,
        /// `script` or `gate` (absent for a turn).
        #[serde(skip_serializing_if = "Kind::is_turn", default)]
        kind: Kind,
        /// A script's exit code (a list for a fan-out step's `step.finished`).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        exit_code: Option<Value>,
        /// A script's stderr (a list for a fan-out step's `step.finished`).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        stderr: Option<Value>,
        /// A loop's iterations' outputs, in order (a list per element for a fan-out).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        iterations: Option<Value>,
        /// The files it changed (see [`Patch`]).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        patch: Option<Box<Patch>>,
        /// Served from the result cache, not run (for a fan-out's `step.finished`: every
        /// element was).
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        cached: bool,
        /// The tokens the results served from the cache took when they ran: saved.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        saved: Option<Usage>,
    },
    /// One iteration of a step with `loop` finished; `ended` says the loop's condition held.
    #[serde(rename = "iteration.finished")]
    IterationFinished {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        iteration: u32,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        error: Option<String>,
        output: Value,
        duration_ms: u64,
        usage: Usage,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        thread_id: Option<String>,
        attempts: u32,
        ended: bool,
    },
    /// A gate waits for an answer nobody here can give (weft is not on a terminal): the
    /// run stops with the status `waiting` once nothing else can run.
    #[serde(rename = "gate.waiting")]
    GateWaiting {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        index: Option<usize>,
        question: String,
    },
    #[serde(rename = "run.finished")]
    RunFinished {
        status: Status,
        duration_ms: u64,
        usage: Usage,
    },
}
