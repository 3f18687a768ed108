//! `weft run`: load, plan, record a new run, and run it as one session; with secrets,
//! everything it prints and writes is masked.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::args::RunArgs;
use super::commands::Writer;
use super::session::{self, Session};
use super::tape::{self, TapeSetup};
use crate::cassette::Cassette;
use crate::engine::spec::RunSpec;
use crate::engine::{self, RunOptions, Seed};
use crate::error::Error;
use crate::plan::Plan;
use crate::redact::{MASK, Redactor};
use crate::report::{FILES_DIR, RECORD_VERSION, RecordStatus, RecordedOptions, RunState, now_ms};
use crate::workflow::{Workflow, inputs, secrets};

/// `weft run FILE`. Once the secrets are known, everything the run prints (errors
/// included) passes through a redacting writer.
pub fn run(args: &RunArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    let cassette = tape::load_replay(args)?;
    let prepared = prepare(args, cassette.as_ref(), err)?;
    let redactor = prepared.redactor.clone();
    Ok(session::masked(out, err, &redactor, |out, err| {
        execute(args, prepared, cassette, out, err)
    }))
}

fn execute(
    args: &RunArgs,
    prepared: Prepared,
    cassette: Option<Cassette>,
    out: &mut Writer,
    err: &mut Writer,
) -> Result<i32, Error> {
    let Prepared {
        workflow,
        plan,
        inputs,
        redactor,
    } = prepared;
    if args.dry_run {
        return Ok(super::dry_run::dry_run(&workflow, &plan, &inputs, out, err));
    }
    session::check(&args.report)?;
    let run_id = new_run_id();
    let record = std::path::absolute(args.report.runs_dir.join(&run_id))
        .unwrap_or_else(|_| args.report.runs_dir.join(&run_id));
    let options = RunOptions {
        run_dir: Some(record.join(FILES_DIR)),
        run_id,
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        timeout: args.timeout,
        model: args.model.clone(),
        effort: args.effort,
        workdir: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        retry_delay: Duration::from_secs(1),
    };
    let mut spec = engine::run_spec(&workflow, &plan, inputs.clone(), &options);
    if cassette.is_some() {
        stand_in_unset_secrets(&workflow, &mut spec);
    }
    spec.gates = args.gates.resolve(&spec)?;
    engine::check_policies(&spec).map_err(Error::Usage)?;
    let mut state = new_state(&workflow, &spec, &options, inputs);
    let mut seed = Seed::default();
    if args.shard.shard_step.is_some() && !args.shard.active() {
        return Err(Error::Usage(
            "`--shard-step` goes with `--shard K/N` or `--upstream-only`".into(),
        ));
    }
    if args.shard.active() {
        let sharded = super::shard::prepare(&args.shard, spec, &args.report.runs_dir)?;
        (spec, seed) = (sharded.spec, sharded.seed);
        state.steps = sharded.entries;
        state.shard = Some(sharded.record);
    }
    let session = Session {
        spec,
        seed,
        state,
        workflow_text: workflow.source.text.clone(),
        agent: &args.agent,
        report: &args.report,
        cache: Some(&args.cache),
        tape: TapeSetup {
            record: args.record.clone(),
            replay: cassette,
            mode: args.replay_mode,
            redactor: redactor.clone(),
            placeholders: Vec::new(),
        },
        redactor,
    };
    session::execute(session, out, err)
}

/// A loaded workflow, its plan, the run's inputs and its secrets.
struct Prepared {
    workflow: Workflow,
    plan: Plan,
    inputs: Map<String, Value>,
    redactor: Redactor,
}

fn prepare(
    args: &RunArgs,
    cassette: Option<&Cassette>,
    err: &mut Writer,
) -> Result<Prepared, Error> {
    let checked = super::commands::load_checked(&args.file)?;
    if !checked.warnings.is_empty() {
        let _ = writeln!(err, "{}", checked.render_warnings());
    }
    let (workflow, plan) = (checked.workflow, checked.plan);
    let pairs = tape::inputs_with_recorded(args, cassette);
    let inputs = inputs::resolve(&workflow, &pairs, args.inputs_file.as_deref())?;
    let redactor = redactor(&workflow, &inputs)?;
    Ok(Prepared {
        workflow,
        plan,
        inputs,
        redactor,
    })
}

/// The redactor of the run's secret inputs and secret environment variables.
pub(super) fn redactor(
    workflow: &Workflow,
    inputs: &Map<String, Value>,
) -> Result<Redactor, Error> {
    let values = secrets::collect(workflow, inputs, |name| std::env::var(name).ok())?;
    Redactor::new(values).map_err(|e| Error::Usage(e.to_string()))
}

/// In a replay, a secret environment variable that is not set reads as `***`, the
/// stand-in the cassette recorded in its place, so the prompts match without the secret.
fn stand_in_unset_secrets(workflow: &Workflow, spec: &mut RunSpec) {
    for name in &workflow.secret_env {
        if let Some(value @ Value::Null) = spec.env.get_mut(name) {
            *value = Value::String(MASK.into());
        }
    }
}

/// The secret environment variables that are set (to something) now.
pub(super) fn set_secret_env(workflow: &Workflow) -> Vec<String> {
    workflow
        .secret_env
        .iter()
        .filter(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        .cloned()
        .collect()
}

/// The record of a new run: the workflow as run (its hash and each step's fingerprint),
/// the inputs and the options.
pub(super) fn new_state(
    workflow: &Workflow,
    spec: &RunSpec,
    options: &RunOptions,
    inputs: Map<String, Value>,
) -> RunState {
    RunState {
        version: RECORD_VERSION,
        run_id: options.run_id.clone(),
        workflow: workflow.name.clone(),
        workflow_path: std::path::absolute(&workflow.path).unwrap_or(workflow.path.clone()),
        workflow_hash: engine::sha256_hex(workflow.source.text.as_bytes()),
        step_hashes: step_hashes(spec),
        inputs: Value::Object(inputs),
        options: RecordedOptions {
            jobs: options.jobs,
            fail_fast: options.fail_fast,
            timeout_ms: options.timeout.map(|t| t.as_millis() as u64),
            model: options.model.clone(),
            effort: options.effort,
            workdir: options.workdir.clone(),
        },
        status: RecordStatus::Running,
        pid: Some(std::process::id()),
        started_at_ms: now_ms(),
        duration_ms: None,
        usage: Default::default(),
        sessions: 1,
        steps: Vec::new(),
        secret_env: set_secret_env(workflow),
        shard: None,
        merged_from: Vec::new(),
    }
}

/// Every step's fingerprint, by id.
pub(super) fn step_hashes(spec: &RunSpec) -> BTreeMap<String, String> {
    (0..spec.steps.len())
        .map(|i| (spec.steps[i].id.clone(), engine::fingerprint(spec, i)))
        .collect()
}

/// `20261125-093700-k3f9`: sortable by start time, unique enough for one machine.
pub(super) fn new_run_id() -> String {
    let secs = now_ms() / 1000;
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    let suffix: String = (0..4)
        .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
        .collect();
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{suffix}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2026-11-25 09:37:00` (UTC) for a Unix time in milliseconds.
pub(super) fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_carry_the_utc_date() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        let id = new_run_id();
        assert_eq!(id.len(), "20261125-093700-k3f9".len(), "{id}");
        assert_eq!(utc(1_764_063_420_000), "2025-11-25 09:37:00");
    }
}
