//! What `weft plan --cache` says of each step before anything runs: served from the cache
//! (its key found), runs (and which part of its key changed since its last stored
//! result), or not known until the run (an upstream step runs first, or changes files; a
//! fan-out's elements; a called workflow's steps). A step whose upstream steps would all
//! be served is keyed with their stored outputs, exactly as the run would key it.

use serde_json::Value;

use super::draft::key_parts;
use super::setup::{CacheRun, eligibility};
use crate::engine::context::scope_context;
use crate::engine::event::Status;
use crate::engine::outcome::StepRecord;
use crate::engine::spec::{RunSpec, StepSpec};
use crate::template::Renderer;

/// What the cache would do with a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its result would be served (`patch`: only if its stored patch still applies).
    Cached { patch: bool },
    /// It would run, and why.
    Runs(String),
    /// Only the run can tell, and why.
    Unknown(String),
}

/// The verdict on every step of `spec` (in its order), against `spec.cache`.
pub fn preview(spec: &RunSpec) -> Vec<(String, Verdict)> {
    let Some(run) = &spec.cache else {
        return Vec::new();
    };
    let sources = spec.scopes.iter().map(|s| s.templates.clone()).collect();
    let renderer = Renderer::with_sources(sources);
    let mut verdicts: Vec<Option<Verdict>> = vec![None; spec.steps.len()];
    let mut served: Vec<StepRecord> = Vec::new();
    while verdicts.iter().any(Option::is_none) {
        let ready = (0..spec.steps.len()).find(|&i| {
            verdicts[i].is_none()
                && spec.steps[i]
                    .upstream
                    .iter()
                    .all(|&u| verdicts[u].is_some())
        });
        let Some(i) = ready else {
            break;
        };
        let step = &spec.steps[i];
        let verdict = upstream_verdict(spec, step, &verdicts)
            .unwrap_or_else(|| own_verdict(run, spec, step, &renderer, &mut served));
        verdicts[i] = Some(verdict);
    }
    spec.steps
        .iter()
        .zip(verdicts)
        .filter(|(s, _)| s.call.is_none())
        .map(|(s, v)| {
            (
                s.id.clone(),
                v.unwrap_or(Verdict::Unknown("in a cycle".into())),
            )
        })
        .collect()
}

/// The verdict that what runs before `step` decides, if any.
fn upstream_verdict(
    spec: &RunSpec,
    step: &StepSpec,
    verdicts: &[Option<Verdict>],
) -> Option<Verdict> {
    let run = spec.cache.as_ref()?;
    if !(run.all || step.cache) {
        return Some(Verdict::Runs("no `cache: true`".into()));
    }
    if let Some(why) = eligibility(step).declined() {
        return Some(Verdict::Runs(why.into()));
    }
    for &u in &step.upstream {
        let id = &spec.steps[u].id;
        match &verdicts[u] {
            Some(Verdict::Cached { patch: false }) => {}
            Some(Verdict::Cached { patch: true }) if step.reads.is_some() => {}
            Some(Verdict::Cached { patch: true }) => {
                return Some(Verdict::Unknown(format!("`{id}` changes files first")));
            }
            _ => {
                return Some(Verdict::Unknown(format!(
                    "runs if `{id}` (which runs first) gives a different result"
                )));
            }
        }
    }
    if step.for_each.is_some() {
        return Some(Verdict::Unknown(
            "a fan-out: each element is looked up when it runs".into(),
        ));
    }
    if step.scope != 0 {
        return Some(Verdict::Unknown(
            "a step of a called workflow: looked up when it runs".into(),
        ));
    }
    None
}

/// The verdict of `step` keyed now, its upstream steps' outputs taken from `served`.
fn own_verdict(
    run: &CacheRun,
    spec: &RunSpec,
    step: &StepSpec,
    renderer: &Renderer,
    served: &mut Vec<StepRecord>,
) -> Verdict {
    let context = scope_context(spec, 0, &spec.inputs, served.iter());
    let Some(mut parts) = key_parts(run, step, &context, renderer) else {
        return Verdict::Unknown("its templates need what only the run knows".into());
    };
    match run.files.fingerprint(&step.cwd, step.reads.as_deref()) {
        Ok(print) => parts.add("files", &print),
        Err(why) => return Verdict::Runs(why),
    }
    if let Some(entry) = run.store.peek(&parts.key()) {
        let mut record = StepRecord::early(&step.id, Status::Succeeded, String::new());
        record.error = None;
        record.output = entry.output;
        record = record.of_kind(step);
        if record.exit_code.is_some() {
            record.exit_code = Some(entry.exit_code.map_or(Value::Null, Value::from));
            record.stderr = Some(entry.stderr.map_or(Value::Null, Value::String));
        }
        served.push(record);
        return Verdict::Cached {
            patch: entry.patch.is_some(),
        };
    }
    Verdict::Runs(match run.store.last_parts(&run.workflow, &step.id) {
        None => "no stored result yet".into(),
        Some(last) => {
            let changed: Vec<String> = parts
                .differing(&last)
                .iter()
                .map(|p| format!("`{p}`"))
                .collect();
            format!(
                "changed since its last stored result: {}",
                changed.join(", ")
            )
        }
    })
}
