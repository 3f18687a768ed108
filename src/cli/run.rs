//! `weft run`: load, plan, start the app-server, execute, report, exit with the run's code.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::args::{RunArgs, RunOutput};
use super::tape::{self, Tape};
use crate::cassette::Cassette;
use crate::engine::event::{RunEvent, Status};
use crate::engine::{self, CodexAgent, CodexConfig, RunOptions, RunReport};
use crate::error::{EXIT_AGENT, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_STEP_FAILED, EXIT_SUCCESS};
use crate::plan::{Format, Plan, render};
use crate::report::{JsonLines, Plain, Reporter, RunRecorder, RunState};
use crate::workflow::{self, Workflow, inputs};

/// `weft run FILE`.
pub fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let cassette = match tape::load_replay(args) {
        Ok(c) => c,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let (workflow, plan, inputs) = match prepare(args, cassette.as_ref()) {
        Ok(p) => p,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return EXIT_INVALID;
        }
    };
    if args.dry_run {
        return dry_run(&workflow, &plan, &inputs, out);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            return EXIT_AGENT;
        }
    };
    let run_id = new_run_id();
    let options = RunOptions {
        run_id: run_id.clone(),
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        timeout: args.timeout,
        model: args.model.clone(),
        effort: args.effort.clone(),
        workdir: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        retry_delay: Duration::from_secs(1),
    };
    let spec = engine::run_spec(&workflow, &plan, inputs.clone(), &options);
    let step_order: Vec<String> = spec.steps.iter().map(|s| s.id.clone()).collect();
    let mut config = codex_config(args);
    let tape = match runtime.block_on(Tape::start(args, cassette, &mut config)) {
        Ok(t) => t,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let mut reporter = match reporter(args, &workflow, &run_id, &inputs) {
        Ok(r) => r,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let report = runtime.block_on(async {
        let agent = CodexAgent::start(config).await.map_err(|e| e.to_string())?;
        let agent = std::sync::Arc::new(agent);
        let cancel = cancel_on_signal();
        let mut sink = |e: &RunEvent| reporter.write_event(e);
        let report = engine::execute(agent.clone(), spec, cancel, &mut sink).await;
        agent.close().await;
        Ok::<RunReport, String>(report)
    });
    let tape_code = tape.map_or(EXIT_SUCCESS, |t| {
        t.finish(&workflow.name, &inputs, &step_order, err)
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    match report {
        Ok(report) => finish(args, &report, &run_id, out, err).max(tape_code),
        Err(message) => {
            let _ = writeln!(err, "error: could not start the agent: {message}");
            EXIT_AGENT
        }
    }
}

type Prepared = (Workflow, Plan, Map<String, Value>);

fn prepare(args: &RunArgs, cassette: Option<&Cassette>) -> Result<Prepared, String> {
    let workflow = workflow::load(&args.file).map_err(|e| e.render())?;
    let plan = Plan::build(&workflow).map_err(|d| d.render(&workflow.source))?;
    let pairs = tape::inputs_with_recorded(args, cassette);
    let inputs = inputs::resolve(&workflow, &pairs, args.inputs_file.as_deref())
        .map_err(|e| format!("error: {e}"))?;
    Ok((workflow, plan, inputs))
}

fn codex_config(args: &RunArgs) -> CodexConfig {
    CodexConfig {
        codex_bin: args.codex_bin.clone(),
        codex_home: None,
        env: Vec::new(),
        config_overrides: args.config.clone(),
        idle_timeout: Some(args.idle_timeout),
        active_turns: Default::default(),
    }
}

fn reporter(
    args: &RunArgs,
    workflow: &Workflow,
    run_id: &str,
    inputs: &Map<String, Value>,
) -> Result<Reporter, String> {
    let mut reporter = Reporter::new();
    reporter.add(Plain::new(std::io::stderr(), args.verbose));
    if let Some(path) = &args.events {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write events to `{}`: {e}", path.display()))?;
        reporter.add(JsonLines::new(std::io::BufWriter::new(file)));
    }
    let state = RunState {
        run_id: run_id.to_string(),
        workflow: workflow.name.clone(),
        workflow_path: workflow.path.clone(),
        inputs: Value::Object(inputs.clone()),
        status: "running".into(),
        started_at_ms: now_ms(),
        duration_ms: None,
        usage: Default::default(),
        steps: Map::new(),
    };
    let dir = args.runs_dir.join(run_id);
    let recorder = RunRecorder::create(&dir, state)
        .map_err(|e| format!("cannot write the run record in `{}`: {e}", dir.display()))?;
    reporter.add(recorder);
    Ok(reporter)
}

/// A watch that turns true on the first SIGINT or SIGTERM.
fn cancel_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
        tx.closed().await;
    });
    rx
}

fn finish(
    args: &RunArgs,
    report: &RunReport,
    run_id: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match args.output {
        RunOutput::Json => {
            let doc = json_report(report, run_id);
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
        RunOutput::Text => {
            for (name, value) in &report.outputs {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                let _ = writeln!(out, "{name}: {text}");
            }
        }
    }
    if let Some(fatal) = &report.fatal {
        let _ = writeln!(err, "error: the agent failed: {fatal}");
    }
    for step in report.steps.iter().filter(|s| s.status == Status::Failed) {
        let why = step.error.as_deref().unwrap_or("failed");
        let _ = writeln!(err, "error: step `{}` failed: {why}", step.id);
    }
    let record = args.runs_dir.join(run_id);
    let _ = writeln!(err, "run record: {}", record.display());
    exit_code(report)
}

/// The exit code of a finished run.
pub fn exit_code(report: &RunReport) -> i32 {
    match report.status {
        Status::Interrupted => EXIT_INTERRUPTED,
        _ if report.fatal.is_some() => EXIT_AGENT,
        Status::Failed => EXIT_STEP_FAILED,
        Status::Succeeded | Status::Skipped => EXIT_SUCCESS,
    }
}

fn json_report(report: &RunReport, run_id: &str) -> Value {
    let steps: Map<String, Value> = report
        .steps
        .iter()
        .map(|s| {
            let mut v = json!({
                "status": s.status,
                "output": s.output,
                "thread_id": s.thread_id,
                "usage": s.usage,
                "duration_ms": s.duration_ms,
                "attempts": s.attempts,
            });
            if let (Some(e), Value::Object(m)) = (&s.error, &mut v) {
                m.insert("error".into(), Value::String(e.clone()));
            }
            (s.id.clone(), v)
        })
        .collect();
    json!({
        "run_id": run_id,
        "status": report.status,
        "outputs": report.outputs,
        "steps": steps,
        "usage": report.usage,
        "duration_ms": report.duration.as_millis() as u64,
    })
}

fn dry_run(
    workflow: &Workflow,
    plan: &Plan,
    inputs: &Map<String, Value>,
    out: &mut dyn Write,
) -> i32 {
    let _ = write!(out, "{}", render(plan, workflow, Format::Text));
    let renderer = engine::context::Renderer::new();
    let context = json!({
        "inputs": inputs,
        "steps": {},
        "workflow": { "name": workflow.name },
        "run": { "id": "dry-run" },
        "env": {},
    });
    let _ = writeln!(out, "\nprompts:");
    for step in &workflow.steps {
        let text = match renderer.render(&step.prompt.value, &context) {
            Ok(p) => p,
            Err(_) => "(rendered at run time: it reads other steps' results)".to_string(),
        };
        let _ = writeln!(out, "--- {}\n{}", step.id.value, text.trim_end());
    }
    EXIT_SUCCESS
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `20261125-093700-k3f9`: sortable by start time, unique enough for one machine.
fn new_run_id() -> String {
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
    }
}
