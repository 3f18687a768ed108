//! How a run's results are put together: a step's unit results into its record, the step
//! records into the run's status, usage and outputs.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::agent::Usage;
use super::event::Status;
use super::halt::Halt;
use super::kinds::Kind;
use super::spec::{RunSpec, StepSpec};
use super::tree::Patch;
use crate::template::Renderer;

/// The result of one step, as reported and as seen by later templates.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub id: String,
    pub status: Status,
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub thread_id: Option<String>,
    pub usage: Usage,
    pub attempts: u32,
    pub duration_ms: u64,
    /// Kept from an earlier session of the run by `weft resume`, not run again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    /// What the step is.
    #[serde(skip_serializing_if = "Kind::is_turn")]
    pub kind: Kind,
    /// A script's exit code (none when it did not exit by itself; a list for a fan-out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<Value>,
    /// A script's stderr (a list for a fan-out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Value>,
    /// A loop's iterations' outputs (a list per element for a fan-out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<Value>,
    /// What the step brought back to the working tree (an isolated step), or changed in
    /// it (a step checked by `writes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Patch>,
    /// Served from the result cache, not run (a fan-out: every element was).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// The tokens its results served from the cache took when they ran: saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<Usage>,
}

impl StepRecord {
    /// A step that ended before any unit ran (skipped, failed at once, or waiting).
    pub fn early(id: &str, status: Status, error: String) -> Self {
        Self {
            id: id.to_string(),
            status,
            output: Value::Null,
            error: Some(error),
            thread_id: None,
            usage: Usage::default(),
            attempts: 0,
            duration_ms: 0,
            reused: false,
            kind: Kind::Turn,
            exit_code: None,
            stderr: None,
            iterations: None,
            patch: None,
            cached: false,
            saved: None,
        }
    }

    /// The record with the fields of a step of `spec`'s kind: a script's `exit_code` and
    /// `stderr`, a loop's `iterations` (none when it never ran).
    pub fn of_kind(mut self, spec: &StepSpec) -> Self {
        self.kind = spec.kind.name();
        let fan_out = spec.for_each.is_some();
        let none = || match fan_out {
            true => Value::Array(Vec::new()),
            false => Value::Null,
        };
        if self.kind == Kind::Script {
            self.exit_code.get_or_insert_with(none);
            self.stderr.get_or_insert_with(none);
        }
        if spec.looping.is_some() {
            self.iterations
                .get_or_insert_with(|| Value::Array(Vec::new()));
        }
        self
    }
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub status: Status,
    /// Set when the agent died or broke the protocol.
    pub fatal: Option<String>,
    pub steps: Vec<StepRecord>,
    pub outputs: Map<String, Value>,
    pub usage: Usage,
    pub duration: Duration,
}

/// How the run ended, from the finished steps (with their specs), why it halted if it
/// did, and whether the agent failed: interrupted, else failed, else waiting (for a
/// gate's answer), else succeeded.
pub(super) fn run_status(
    done: &[(&StepSpec, &StepRecord)],
    halt: Option<&Halt>,
    fatal: bool,
) -> Status {
    let failed = done
        .iter()
        .any(|(spec, rec)| rec.status == Status::Failed && !spec.continue_on_error);
    let waiting = done.iter().any(|(_, rec)| rec.status == Status::Waiting);
    if halt == Some(&Halt::Cancelled) {
        Status::Interrupted
    } else if failed || fatal || matches!(halt, Some(Halt::Stopped(_))) {
        Status::Failed
    } else if waiting {
        Status::Waiting
    } else {
        Status::Succeeded
    }
}

/// The workflow's outputs rendered in `context`; one that does not render holds its error.
pub(super) fn outputs(spec: &RunSpec, renderer: &Renderer, context: &Value) -> Map<String, Value> {
    spec.outputs
        .iter()
        .map(|(name, template)| {
            let value = renderer
                .render_value(template, context)
                .unwrap_or_else(|e| json!({ "error": e.to_string() }));
            (name.clone(), value)
        })
        .collect()
}

/// The total usage of `steps`.
pub(super) fn total_usage(steps: &[StepRecord]) -> Usage {
    let mut usage = Usage::default();
    for rec in steps {
        usage.add(&rec.usage);
    }
    usage
}
