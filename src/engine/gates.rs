//! The rules around a step's units: whether a step whose dependencies are done runs
//! (upstream results and its `join`, `if`, `for_each`; a step after a waiting gate waits
//! too), and whether a step that succeeded passes its `fail_if`. Functions over what they
//! read; the scheduler applies their answers.

use serde_json::Value;

use super::context::scope_context;
use super::event::Status;
use super::outcome::StepRecord;
use super::spec::{RunSpec, StepSpec};
use crate::template::Renderer;
use crate::vocab::Join;

/// What happens to a step whose dependencies are done.
#[derive(Debug, PartialEq)]
pub(super) enum Admission {
    /// It does not run, for this reason.
    Skip(String),
    /// It fails at once with this error.
    Fail(String),
    /// It waits (for a gate upstream), for this reason.
    Wait(String),
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
    if let Some((up, _)) = upstream.iter().find(|(_, r)| r.status == Status::Waiting) {
        return Admission::Wait(format!("waits for `{}`", up.id));
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
    if me.scope != 0 {
        return Err(format!(
            "step `{}` is in a called workflow: only a fan-out of the run's own workflow has a length to check",
            me.id
        ));
    }
    let renderer = Renderer::new();
    let context = scope_context(spec, 0, &spec.inputs, done.iter());
    match admit(me, &upstream, &renderer, &context) {
        Admission::Run(items) => Ok(Some(items.map_or(1, |i| i.len()))),
        Admission::Skip(_) | Admission::Wait(_) => Ok(None),
        Admission::Fail(error) => Err(error),
    }
}

/// Why an upstream result keeps `step` from running. An interruption always does. With
/// `join: all_succeeded` (the default) a failure does (unless it may fail), and a skip
/// (unless `step` has an `if` of its own to decide); with `any_succeeded`, no upstream
/// step having succeeded does; with `all_done`, nothing else does.
fn blocked(step: &StepSpec, upstream: &[(&StepSpec, &StepRecord)]) -> Option<String> {
    if let Some((up, _)) = upstream
        .iter()
        .find(|(_, rec)| rec.status == Status::Interrupted)
    {
        return Some(format!("upstream step `{}` was interrupted", up.id));
    }
    match step.join {
        Join::AllSucceeded => all_succeeded(step, upstream),
        Join::AnySucceeded => {
            let any = upstream.is_empty()
                || upstream
                    .iter()
                    .any(|(_, rec)| rec.status == Status::Succeeded);
            (!any).then(|| "`join: any_succeeded`: no upstream step succeeded".to_string())
        }
        Join::AllDone => None,
    }
}

fn all_succeeded(step: &StepSpec, upstream: &[(&StepSpec, &StepRecord)]) -> Option<String> {
    for (up, rec) in upstream {
        match rec.status {
            Status::Failed if !up.continue_on_error => {
                return Some(format!("upstream step `{}` failed", up.id));
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
