//! The events a run emits. The engine never prints: reporters render these.
//!
//! Serialized as JSON Lines with a dotted `type` (`run.started`, `step.finished`, …);
//! `step` is the step id and `index` the 0-based fan-out element, when there is one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agent::Usage;

/// How a step (or a run) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Interrupted => "interrupted",
        }
    }
}

/// One thing that happened during a run.
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
        thread_id: String,
        attempt: u32,
        /// The text sent to the agent in this attempt: the rendered prompt, or on a retry
        /// the correction. Absent in logs written before weft recorded it.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        prompt: Option<String>,
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
    },
    #[serde(rename = "run.finished")]
    RunFinished {
        status: Status,
        duration_ms: u64,
        usage: Usage,
    },
}
