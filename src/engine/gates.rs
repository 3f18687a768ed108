//! The rules around a step's units: whether a step whose dependencies are done runs
//! (upstream results, `if`, `for_each`), and whether a step that succeeded passes its
//! `fail_if`. Functions over what they read; the scheduler applies their answers.

use serde_json::Value;

use super::context::run_context;
use super::event::Status;
use super::outcome::StepRecord;
use super::spec::{RunSpec, StepSpec};
use crate::template::Renderer;

/// What happens to a step whose dependencies are done.
#[derive(Debug, PartialEq)]
pub(super) enum Admission {
    /// It does not run, for this reason.
    Skip(String),
    /// It fails at once with this error.
    Fail(String),
    /// It runs: as one unit (`None`), or one unit per element.
    Run(Option<Vec<Value>>),
}

/// Decides `step`, given its upstream steps and their records, and the run's `context`.
pub(super) fn admit(
    step: &StepSpec,
    upstream: &[(&StepSpec, &StepRecord)],
    renderer: &Renderer,
    context: &Value,
) -> Admission {
    if let Some(reason) = blocked(step, upstream) {
        return Admission::Skip(reason);
    }
    if let Some(expr) = &step.if_expr {
        match renderer.truthy(expr, context) {
            Ok(true) => {}
            Ok(false) => return Admission::Skip(format!("`if: {expr}` is false")),
            Err(e) => return Admission::Fail(format!("`if` could not be evaluated: {e}")),
        }
    }
    let Some(expr) = &step.for_each else {
        return Admission::Run(None);
    };
    match renderer.eval(expr, context) {
        Ok(Value::Array(items)) => Admission::Run(Some(items)),
        Ok(other) => Admission::Fail(format!("`for_each` gave {}, not a list", json_kind(&other))),
        Err(e) => Admission::Fail(format!("`for_each` could not be evaluated: {e}")),
    }
}

/// How many elements fan-out step `step` of `spec` has, given its upstream steps' records
/// (`done`): `Ok(None)` when it would not run (a false `if`, an upstream failure), an
/// error when its `if` or `for_each` fails. `weft merge` checks the shards against it.
pub fn fan_out_length(
    spec: &RunSpec,
    step: usize,
    done: &[StepRecord],
) -> Result<Option<usize>, String> {
    let me = &spec.steps[step];
    let upstream: Vec<(&StepSpec, &StepRecord)> = me
        .upstream
        .iter()
        .filter_map(|&u| {
            let rec = done.iter().find(|r| r.id == spec.steps[u].id)?;
            Some((&spec.steps[u], rec))
        })
        .collect();
    let renderer = Renderer::new();
    let context = run_context(spec, done.iter());
    match admit(me, &upstream, &renderer, &context) {
        Admission::Run(items) => Ok(Some(items.map_or(1, |i| i.len()))),
        Admission::Skip(_) => Ok(None),
        Admission::Fail(error) => Err(error),
    }
}

/// Why an upstream result keeps `step` from running: a failure (unless it may fail), an
/// interruption, or a skip (unless `step` has an `if` of its own to decide).
fn blocked(step: &StepSpec, upstream: &[(&StepSpec, &StepRecord)]) -> Option<String> {
    for (up, rec) in upstream {
        match rec.status {
            Status::Failed if !up.continue_on_error => {
                return Some(format!("upstream step `{}` failed", up.id));
            }
            Status::Interrupted => {
                return Some(format!("upstream step `{}` was interrupted", up.id));
            }
            Status::Skipped if step.if_expr.is_none() => {
                return Some(format!("upstream step `{}` was skipped", up.id));
            }
            _ => {}
        }
    }
    None
}

/// A succeeded step's `fail_if: expr`, evaluated in `context` (which holds its `output`):
/// the error that fails the step, or `None` when it passes.
pub(super) fn fail_if(expr: &str, renderer: &Renderer, context: &Value) -> Option<String> {
    match renderer.truthy(expr, context) {
        Ok(false) => None,
        Ok(true) => Some(format!("`fail_if: {expr}` is true")),
        Err(e) => Some(format!("`fail_if` could not be evaluated: {e}")),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
