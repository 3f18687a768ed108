//! `weft resume RUN`: continue a recorded run. Steps that succeeded keep their outputs,
//! named threads continue by their saved ids, everything else runs again.

use std::collections::BTreeSet;
use std::time::Duration;

use super::commands::Writer;
use super::record_args::ResumeArgs;
use super::resume_secrets;
use super::run::step_hashes;
use super::session::{self, Session};
use super::tape::TapeSetup;
use crate::cassette::Cassette;
use crate::engine::event::Status;
use crate::engine::spec::{RunSpec, ThreadMode};
use crate::engine::{self, IterationRecord, RunOptions, Seed, SeedElement};
use crate::error::{EXIT_SUCCESS, Error};
use crate::redact::Redactor;
use crate::report::{RecordStatus, RunState, RunStore, process_alive};

/// `weft resume RUN | --last`. With secrets, everything it prints is masked.
pub fn resume(args: &ResumeArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    match prepare(args)? {
        Prepared::Session(ready) => {
            let Ready {
                spec,
                seed,
                state,
                workflow_text,
                redactor,
            } = *ready;
            let masks = redactor.clone();
            Ok(session::masked(out, err, &masks, |out, err| {
                let session = Session {
                    spec,
                    seed,
                    state,
                    workflow_text,
                    agent: &args.agent,
                    report: &args.report,
                    cache: Some(&args.cache),
                    tape: TapeSetup {
                        record: None,
                        replay: args.replay.as_deref().map(Cassette::load).transpose()?,
                        mode: args.replay_mode,
                        redactor: redactor.clone(),
                        placeholders: Vec::new(),
                    },
                    redactor,
                };
                session::execute(session, out, err)
            }))
        }
        Prepared::Nothing(message) => {
            let _ = writeln!(err, "{message}");
            Ok(EXIT_SUCCESS)
        }
    }
}

enum Prepared {
    Session(Box<Ready>),
    Nothing(String),
}

/// A session ready to run: what runs, what is kept, the record to update, the workflow
/// file's text and the run's secrets.
struct Ready {
    spec: RunSpec,
    seed: Seed,
    state: RunState,
    workflow_text: String,
    redactor: Redactor,
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
    let (spec, text, redactor, secret_env) = spec_of(&state, args, &dir)?;
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
    let mut spec = spec;
    spec.gates = args.gates.resolve(&spec)?;
    if let Some(kept) = spec
        .gates
        .keys()
        .find(|g| seed.done.iter().any(|d| &d.id == *g))
    {
        return Err(Error::Usage(format!(
            "gate `{kept}` of run {id} was answered already (it succeeded): there is nothing to answer"
        )));
    }
    let mut next = state.clone();
    next.status = RecordStatus::Running;
    next.pid = Some(std::process::id());
    next.sessions += 1;
    next.workflow_hash = engine::sha256_hex(text.as_bytes());
    next.step_hashes = hashes;
    next.steps.retain(|s| spec.index_of(&s.id).is_some());
    next.secret_env = secret_env;
    Ok(Prepared::Session(Box::new(Ready {
        spec,
        seed,
        state: next,
        workflow_text: text,
        redactor,
    })))
}

/// What [`spec_of`] gives: the spec, the workflow file's text, the secrets and the secret
/// environment variables set now.
type Resumed = (RunSpec, String, Redactor, Vec<String>);

/// The run spec of the workflow file as it is now, with the recorded inputs (each secret
/// given again) and options; the file's text; the run's secrets.
fn spec_of(
    state: &RunState,
    args: &ResumeArgs,
    record: &std::path::Path,
) -> Result<Resumed, Error> {
    let path = &state.workflow_path;
    let refused = |source| Error::ResumeWorkflow {
        run: state.run_id.clone(),
        path: path.clone(),
        source,
    };
    let (workflow, plan) = crate::plan::load(path).map_err(refused)?;
    let problems = super::trees::repo_problems(&workflow, &state.options.workdir);
    if !problems.is_empty() {
        return Err(refused(crate::workflow::LoadError::Invalid {
            source_file: workflow.source.clone(),
            diagnostics: problems,
        }));
    }
    let o = &state.options;
    let record = std::path::absolute(record).unwrap_or_else(|_| record.to_path_buf());
    let options = RunOptions {
        run_dir: Some(record.join(crate::report::FILES_DIR)),
        run_id: state.run_id.clone(),
        jobs: o.jobs.max(1),
        fail_fast: o.fail_fast,
        timeout: o.timeout_ms.map(Duration::from_millis),
        model: o.model.clone(),
        effort: o.effort,
        workdir: o.workdir.clone(),
        retry_delay: Duration::from_secs(1),
    };
    let inputs = resume_secrets::inputs(state, &workflow, args)?;
    resume_secrets::check_env(state, &workflow)?;
    let redactor = super::run::redactor(&workflow, &inputs)?;
    let secret_env = super::run::set_secret_env(&workflow);
    let spec = engine::run_spec(&workflow, &plan, inputs, &options);
    Ok((spec, workflow.source.text.clone(), redactor, secret_env))
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
        let loops = spec
            .index_of(&entry.id)
            .is_some_and(|i| spec.steps[i].looping.is_some());
        let rec = super::shard::kept(entry, loops);
        seed.done.push(rec);
    }
    seed.iterations = unfinished_loops(state, spec, &kept, changed);
    seed.elements = finished_elements(state, spec, &kept, changed);
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

/// The elements that succeeded of the fan-out steps that run again but may keep them
/// ([`engine::element_steps`]); each is kept if its index still has the same item. The
/// elements with a loop's iterations of every step that runs again go too (as not
/// succeeded, so never kept whole): a loop continues only if its item is the same.
fn finished_elements(
    state: &RunState,
    spec: &RunSpec,
    kept: &BTreeSet<String>,
    changed: &BTreeSet<String>,
) -> Vec<SeedElement> {
    let keeping = engine::element_steps(spec, kept, changed);
    let again = |id: &String| !kept.contains(id) && !changed.contains(id);
    let mut out = Vec::new();
    for entry in state.steps.iter().filter(|s| again(&s.id)) {
        let Some(i) = spec.index_of(&entry.id) else {
            continue;
        };
        let loops = spec.steps[i].looping.is_some();
        let whole = keeping.contains(&entry.id);
        for e in entry.elements.iter().filter(|e| e.item.is_some()) {
            let succeeded = whole && e.status == RecordStatus::Succeeded;
            if !succeeded && e.iterations.is_empty() {
                continue;
            }
            let mut record = super::shard::kept(e, loops);
            if !succeeded {
                record.status = Status::Failed;
            }
            out.push(SeedElement {
                step: entry.id.clone(),
                index: e.index.unwrap_or(0),
                record,
                item: e.item.clone(),
            });
        }
    }
    out
}

/// The loops of steps that run again and had not ended (their condition never held, and
/// they had not reached their limit): each continues after its last finished iteration.
/// A changed step starts over.
fn unfinished_loops(
    state: &RunState,
    spec: &RunSpec,
    kept: &BTreeSet<String>,
    changed: &BTreeSet<String>,
) -> Vec<(String, Option<usize>, Vec<IterationRecord>)> {
    let mut out = Vec::new();
    for entry in &state.steps {
        let Some(i) = spec.index_of(&entry.id) else {
            continue;
        };
        let Some(looping) = &spec.steps[i].looping else {
            continue;
        };
        if kept.contains(&entry.id) || changed.contains(&entry.id) {
            continue;
        }
        let units = std::iter::once(entry).chain(&entry.elements);
        for unit in units.filter(|u| !u.iterations.is_empty()) {
            let done: Vec<IterationRecord> = unit
                .iterations
                .iter()
                .enumerate()
                .take_while(|(n, it)| it.number as usize == n + 1 && it.status == Status::Succeeded)
                .map(|(_, it)| it.clone())
                .collect();
            let ended = done.iter().any(|it| it.ended);
            if !done.is_empty() && !ended && (done.len() as u32) < looping.max_iterations {
                out.push((entry.id.clone(), unit.index, done));
            }
        }
    }
    out
}
