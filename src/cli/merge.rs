//! `weft merge RECORD…`: joins the shard runs of a fan-out (`weft run --shard K/N`) into one
//! new run, then runs everything after the fan-out as a session of it: a merge is a resume
//! from several records. The upstream steps and the fan-out are kept (reported as reused,
//! element by element), the rest runs; outputs, JUnit, events and exit codes are `run`'s.

use std::time::Duration;

use super::commands::Writer;
use super::merge_join::{self, ShardRun};
use super::run::{new_run_id, new_state};
use super::session::{self, Session};
use super::shard::{fan_out_step, find_record, kept};
use super::shard_args::MergeArgs;
use crate::engine::shard::upstream_of;
use crate::engine::spec::{RunSpec, ThreadMode};
use crate::engine::{self, RunOptions, Seed};
use crate::error::Error;
use crate::report::{RunState, StepEntry};

/// `weft merge RECORD…`.
pub fn merge(args: &MergeArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    session::check(&args.report)?;
    let (mut runs, count) = load(args)?;
    merge_join::check_complete(&mut runs, count)?;
    let first = runs[0].state.clone();
    let step_id = first
        .shard
        .as_ref()
        .map(|s| s.step.clone())
        .unwrap_or_default();
    let path = args.workflow.clone().unwrap_or(first.workflow_path.clone());
    if args.workflow.is_none() && !path.exists() {
        return Err(Error::Usage(format!(
            "the shards ran `{}`, which is not here: pass the workflow file with `--workflow FILE`",
            path.display()
        )));
    }
    let checked = super::commands::load_checked(&path)?;
    let workflow = checked.workflow;
    if engine::sha256_hex(workflow.source.text.as_bytes()) != first.workflow_hash {
        return Err(Error::Usage(format!(
            "`{}` is not the workflow the shards ran (its content differs); pass the same file \
             with `--workflow`",
            path.display()
        )));
    }
    if let Some(name) = workflow.secret_inputs().next() {
        return Err(Error::Usage(format!(
            "the workflow has a secret input (`{name}`), which the shards' records do not keep: \
             merging such shards is not supported yet"
        )));
    }
    let options = options(&first, args.jobs, &args.report.runs_dir);
    let inputs = first.inputs.as_object().cloned().unwrap_or_default();
    let spec = engine::run_spec(&workflow, &checked.plan, inputs.clone(), &options);
    let step = fan_out_step(&spec, Some(&step_id))?;
    let upstream = upstream_of(&spec, step);
    let before = merge_join::upstream(&runs, count, &spec, &upstream)?;
    let done: Vec<_> = before
        .iter()
        .map(|e| {
            let loops = spec
                .index_of(&e.id)
                .is_some_and(|i| spec.steps[i].looping.is_some());
            kept(e, loops)
        })
        .collect();
    let redactor = super::run::redactor(&workflow, &inputs)?;
    let mut state = new_state(&workflow, &spec, &options, inputs);
    state.merged_from = runs.iter().map(|r| r.state.run_id.clone()).collect();
    let mut seed = Seed {
        done,
        threads: named_threads(&spec, &before),
        elements: Vec::new(),
        iterations: Vec::new(),
    };
    state.steps = before;
    let length = engine::fan_out_length(&spec, step, &seed.done).map_err(Error::Failed)?;
    if let Some(length) = length {
        let joined = merge_join::join(&runs, count, &step_id, length);
        seed.done.push(joined.record);
        seed.elements = joined.elements;
        state.steps.push(joined.entry);
    }
    report_failed(&runs, count, &step_id, &args.report.runs_dir, err);
    let session = Session {
        spec,
        seed,
        state,
        workflow_text: workflow.source.text.clone(),
        agent: &args.agent,
        report: &args.report,
        cache: None,
        tape: Default::default(),
        redactor,
    };
    session::execute(session, out, err)
}

/// The shard runs named on the command line, and how many shards the fan-out has.
fn load(args: &MergeArgs) -> Result<(Vec<ShardRun>, usize), Error> {
    let mut runs = Vec::new();
    let mut count = None;
    for query in &args.records {
        let dir = find_record(&args.report.runs_dir, query)?;
        let state = RunState::load(&dir)?;
        let part = state.shard.clone();
        let (Some(index), Some(n)) = (
            part.as_ref().and_then(|p| p.index),
            part.as_ref().and_then(|p| p.count),
        ) else {
            let what = part.map_or("is not a shard of a fan-out".into(), |p| {
                format!("ran only {}", p.describe())
            });
            return Err(Error::Usage(format!(
                "run {} {what}: merge takes the runs of `weft run --shard K/N`",
                state.run_id
            )));
        };
        let (step, other) = (
            part.map(|p| p.step).unwrap_or_default(),
            runs.first().and_then(|r: &ShardRun| r.state.shard.clone()),
        );
        if count.is_some_and(|c| c != n) || other.is_some_and(|o| o.step != step) {
            return Err(Error::Usage(format!(
                "run {} is shard {index}/{n} of `{step}`, which is not the fan-out of the others",
                state.run_id
            )));
        }
        count = Some(n);
        runs.push(ShardRun { dir, state, index });
    }
    Ok((runs, count.unwrap_or(0)))
}

/// The shards' options, with the merge's own working directory (it may be another machine)
/// and run directory.
fn options(first: &RunState, jobs: Option<usize>, runs_dir: &std::path::Path) -> RunOptions {
    let o = &first.options;
    let run_id = new_run_id();
    let record =
        std::path::absolute(runs_dir.join(&run_id)).unwrap_or_else(|_| runs_dir.join(&run_id));
    RunOptions {
        run_dir: Some(record.join(crate::report::FILES_DIR)),
        run_id,
        jobs: jobs.unwrap_or(o.jobs).max(1),
        fail_fast: o.fail_fast,
        timeout: o.timeout_ms.map(Duration::from_millis),
        model: o.model.clone(),
        effort: o.effort,
        workdir: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        retry_delay: Duration::from_secs(1),
    }
}

/// The named threads the upstream steps leave, for the steps after the fan-out to continue
/// (they live in the `CODEX_HOME` that ran them).
fn named_threads(spec: &RunSpec, entries: &[StepEntry]) -> Vec<(String, String)> {
    let mut threads: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let Some(i) = spec.index_of(&entry.id) else {
            continue;
        };
        if let (ThreadMode::Named(name), Some(id)) = (&spec.steps[i].thread, &entry.thread_id) {
            threads.retain(|(n, _)| n != name);
            threads.push((name.clone(), id.clone()));
        }
    }
    threads
}

/// Names every shard that did not run its elements to the end, and how to finish it.
fn report_failed(
    runs: &[ShardRun],
    count: usize,
    step: &str,
    runs_dir: &std::path::Path,
    err: &mut Writer,
) {
    for run in runs.iter().filter(|r| !r.succeeded(step)) {
        let why = run
            .state
            .step(step)
            .and_then(|e| e.error.clone())
            .unwrap_or_else(|| format!("its run is {}", run.state.status.as_str()));
        let _ = writeln!(
            err,
            "error: {} failed: {why}\nhelp: finish it with `weft resume {} --runs-dir {}`, then \
             merge again",
            run.name(count),
            run.state.run_id,
            run.dir.parent().unwrap_or(runs_dir).display()
        );
    }
}
