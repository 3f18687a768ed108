//! `weft resume RUN`: continue a recorded run. Steps that succeeded keep their outputs,
//! named threads continue by their saved ids, everything else runs again.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::commands::Writer;
use super::record_args::ResumeArgs;
use super::run::step_hashes;
use super::session::{self, Session};
use crate::engine::event::Status;
use crate::engine::spec::{RunSpec, ThreadMode};
use crate::engine::{self, RunOptions, Seed, StepRecord};
use crate::error::{EXIT_SUCCESS, Error};
use crate::report::{RecordStatus, RunState, RunStore, process_alive};

/// `weft resume RUN | --last`.
pub fn resume(args: &ResumeArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    match prepare(args)? {
        Prepared::Session(spec, seed, state, workflow_text) => {
            let session = Session {
                spec: *spec,
                seed,
                state: *state,
                workflow_text,
                agent: &args.agent,
                report: &args.report,
                tape: Default::default(),
            };
            session::execute(session, out, err)
        }
        Prepared::Nothing(message) => {
            let _ = writeln!(err, "{message}");
            Ok(EXIT_SUCCESS)
        }
    }
}

enum Prepared {
    Session(Box<RunSpec>, Seed, Box<RunState>, String),
    Nothing(String),
}

/// Reads the record and the workflow, decides what runs again. Writes nothing.
fn prepare(args: &ResumeArgs) -> Result<Prepared, Error> {
    session::check(&args.report)?;
    let store = RunStore::new(&args.report.runs_dir);
    let query = args.run.as_deref().unwrap_or("last");
    let dir = store.find(query)?;
    let state = RunState::load(&dir)?;
    let id = &state.run_id;
    if state.status == RecordStatus::Succeeded {
        return Ok(Prepared::Nothing(format!(
            "run {id} already succeeded: nothing to resume"
        )));
    }
    if let Some(pid) = state
        .pid
        .filter(|p| state.status == RecordStatus::Running && process_alive(*p))
    {
        return Err(Error::Usage(format!(
            "run {id} is still running (process {pid}); stop it first"
        )));
    }
    let (spec, text) = spec_of(&state)?;
    let changed = changed_steps(&state, &spec);
    if !changed.is_empty() && !args.allow_changed {
        return Err(refusal(&state, &changed));
    }
    let changed: BTreeSet<String> = changed.into_iter().map(|(id, _)| id).collect();
    let hashes = step_hashes(&spec);
    let spec = match &state.shard {
        Some(part) => super::shard::restrict(spec, part)?,
        None => spec,
    };
    let seed = seed(&state, &spec, &changed);
    let mut next = state.clone();
    next.status = RecordStatus::Running;
    next.pid = Some(std::process::id());
    next.sessions += 1;
    next.workflow_hash = engine::sha256_hex(text.as_bytes());
    next.step_hashes = hashes;
    next.steps.retain(|s| spec.index_of(&s.id).is_some());
    Ok(Prepared::Session(
        Box::new(spec),
        seed,
        Box::new(next),
        text,
    ))
}

/// The run spec of the workflow file as it is now, with the recorded inputs and options;
/// and the file's text.
fn spec_of(state: &RunState) -> Result<(RunSpec, String), Error> {
    let path = &state.workflow_path;
    let (workflow, plan) = crate::plan::load(path).map_err(|source| Error::ResumeWorkflow {
        run: state.run_id.clone(),
        path: path.clone(),
        source,
    })?;
    let o = &state.options;
    let options = RunOptions {
        run_id: state.run_id.clone(),
        jobs: o.jobs.max(1),
        fail_fast: o.fail_fast,
        timeout: o.timeout_ms.map(Duration::from_millis),
        model: o.model.clone(),
        effort: o.effort,
        workdir: o.workdir.clone(),
        retry_delay: Duration::from_secs(1),
    };
    let inputs = match &state.inputs {
        Value::Object(map) => map.clone(),
        _ => Default::default(),
    };
    let spec = engine::run_spec(&workflow, &plan, inputs, &options);
    Ok((spec, workflow.source.text.clone()))
}

/// Steps whose definition differs from the recorded one, with what happened to them.
fn changed_steps(state: &RunState, spec: &RunSpec) -> Vec<(String, &'static str)> {
    let now = step_hashes(spec);
    let mut changed: Vec<(String, &'static str)> = now
        .iter()
        .filter_map(|(id, hash)| match state.step_hashes.get(id) {
            Some(old) if old == hash => None,
            Some(_) => Some((id.clone(), "changed")),
            None => Some((id.clone(), "added")),
        })
        .collect();
    changed.extend(
        state
            .step_hashes
            .keys()
            .filter(|id| !now.contains_key(*id))
            .map(|id| (id.clone(), "removed")),
    );
    changed
}

fn refusal(state: &RunState, changed: &[(String, &'static str)]) -> Error {
    let list: Vec<String> = changed
        .iter()
        .map(|(id, how)| format!("`{id}` ({how})"))
        .collect();
    Error::WorkflowChanged {
        run: state.run_id.clone(),
        path: state.workflow_path.clone(),
        changes: list.join(", "),
    }
}

/// The steps that keep their results, and the named threads they leave to continue.
fn seed(state: &RunState, spec: &RunSpec, changed: &BTreeSet<String>) -> Seed {
    let succeeded: BTreeSet<String> = state
        .steps
        .iter()
        .filter(|s| s.status == RecordStatus::Succeeded)
        .map(|s| s.id.clone())
        .collect();
    let kept = engine::kept_steps(spec, &succeeded, changed);
    let mut seed = Seed::default();
    for entry in state.steps.iter().filter(|s| kept.contains(&s.id)) {
        seed.done.push(StepRecord {
            id: entry.id.clone(),
            status: Status::Succeeded,
            output: entry.output.clone(),
            error: None,
            thread_id: entry.thread_id.clone(),
            usage: entry.usage,
            attempts: entry.attempts,
            duration_ms: entry.duration_ms.unwrap_or(0),
            reused: true,
        });
    }
    for entry in &state.steps {
        let Some(i) = spec.index_of(&entry.id) else {
            continue;
        };
        let (ThreadMode::Named(name), Some(id)) = (&spec.steps[i].thread, &entry.thread_id) else {
            continue;
        };
        let continues = state
            .steps
            .iter()
            .any(|s| kept.contains(&s.id) && s.thread_id.as_ref() == Some(id));
        if continues {
            seed.threads.retain(|(n, _)| n != name);
            seed.threads.push((name.clone(), id.clone()));
        }
    }
    seed
}
