//! A step that `uses` a workflow: it opens when it is admitted (its `with` rendered in
//! the caller's context and checked against the called workflow's inputs: the inputs of
//! that workflow's steps), and it closes once every one of those steps is done: its
//! status from theirs, its output the called workflow's `outputs`. Functions over what
//! they read; the scheduler keeps the state.

use std::time::Instant;

use serde_json::{Map, Value};

use super::agent::Usage;
use super::event::Status;
use super::outcome::StepRecord;
use super::spec::{CallSpec, StepSpec};
use crate::template::Renderer;
use crate::workflow::inputs::{InputError, resolve_values};

/// The inputs of the workflow `call` calls: its `with` rendered in `context` (the
/// caller's scope `scope`), checked and completed with defaults.
pub(super) fn open(
    call: &CallSpec,
    scope: usize,
    renderer: &Renderer,
    context: &Value,
) -> Result<Value, String> {
    let mut given = Map::new();
    for (name, value) in &call.with {
        let value = match value {
            Value::String(template) => renderer
                .render_value_in(scope, template, context)
                .map_err(|e| format!("`with.{name}` could not be rendered: {e}"))?,
            other => other.clone(),
        };
        given.insert(name.clone(), value);
    }
    resolve_values(&call.inputs, given)
        .map(Value::Object)
        .map_err(|e| describe(&call.uses, e))
}

fn describe(uses: &str, error: InputError) -> String {
    match error {
        InputError::Missing(name) => {
            format!("`{uses}` needs input `{name}`; give it in `with`")
        }
        InputError::Type {
            name,
            expected,
            value,
        } => format!("input `{name}` of `{uses}` must be {expected}, got `{value}`"),
        other => format!("`{uses}`: {other}"),
    }
}

/// The record of call step `step` whose parts ended with `parts`: interrupted if one
/// was, failed if one failed (and may not), skipped if all were, else succeeded with the
/// called workflow's outputs rendered in `context` (its scope, its steps done).
pub(super) fn close(
    step: &StepSpec,
    call: &CallSpec,
    parts: &[(&StepSpec, &StepRecord)],
    renderer: &Renderer,
    context: &Value,
    started: Instant,
) -> StepRecord {
    let mut usage = Usage::default();
    for (_, rec) in parts {
        usage.add(&rec.usage);
    }
    let mut rec = StepRecord::early(&step.id, Status::Succeeded, String::new());
    rec.error = None;
    rec.usage = usage;
    rec.attempts = u32::from(!parts.is_empty());
    rec.duration_ms = started.elapsed().as_millis() as u64;
    let failed = parts
        .iter()
        .find(|(spec, rec)| rec.status == Status::Failed && !spec.continue_on_error);
    if let Some((_, interrupted)) = parts.iter().find(|(_, r)| r.status == Status::Interrupted) {
        rec.status = Status::Interrupted;
        rec.error = Some(format!("step `{}` was interrupted", interrupted.id));
    } else if let Some((_, failed)) = failed {
        rec.status = Status::Failed;
        let why = failed.error.as_deref().unwrap_or("it failed");
        rec.error = Some(format!("step `{}` failed: {why}", failed.id));
    } else if !parts.is_empty() && parts.iter().all(|(_, r)| r.status == Status::Skipped) {
        rec.status = Status::Skipped;
        rec.error = Some(format!("every step of `{}` was skipped", call.uses));
    } else {
        match outputs(call, renderer, context) {
            Ok(output) => rec.output = output,
            Err(error) => {
                rec.status = Status::Failed;
                rec.error = Some(error);
            }
        }
    }
    rec
}

/// The called workflow's `outputs`, rendered in its own scope.
fn outputs(call: &CallSpec, renderer: &Renderer, context: &Value) -> Result<Value, String> {
    let mut out = Map::new();
    for (name, template) in &call.outputs {
        let value = renderer
            .render_value_in(call.scope, template, context)
            .map_err(|e| {
                format!(
                    "output `{name}` of `{}` could not be rendered: {e}",
                    call.uses
                )
            })?;
        out.insert(name.clone(), value);
    }
    Ok(Value::Object(out))
}
