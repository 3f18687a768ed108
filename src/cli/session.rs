//! One session of a run (`weft run`, or `weft resume`): start the app-server, execute with
//! the reporters attached, then say how it ended on stdout and stderr; the exit code.
//! Everything the session prints goes to the writers it is given.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};

use super::commands::Writer;
use super::common_args::{AgentArgs, ReportArgs, RunOutput};
use super::tape::{Tape, TapeSetup};
use crate::client::diagnose;
use crate::engine::event::{RunEvent, Status};
use crate::engine::spec::RunSpec;
use crate::engine::{self, CodexAgent, CodexConfig, RunReport, Seed};
use crate::error::{EXIT_AGENT, EXIT_INTERRUPTED, EXIT_STEP_FAILED, EXIT_SUCCESS, Error};
use crate::report::{
    Colors, GithubActions, JsonLines, Junit, Live, Plain, Reporter, RunRecorder, RunState,
    SharedWriter, WORKFLOW_FILE, summary, write_atomic,
};

/// What a session runs and how.
pub(super) struct Session<'a> {
    pub spec: RunSpec,
    pub seed: Seed,
    /// The record to write (new, or the resumed run's, updated).
    pub state: RunState,
    /// The workflow file as run: saved beside the record as `workflow.yaml`.
    pub workflow_text: String,
    pub agent: &'a AgentArgs,
    pub report: &'a ReportArgs,
    /// A cassette to record or replay, if any.
    pub tape: TapeSetup,
}

/// Runs the session to its end; the exit code.
pub(super) fn execute(
    session: Session<'_>,
    out: &mut Writer,
    err: &mut Writer,
) -> Result<i32, Error> {
    let args = session.report;
    let run_id = session.spec.run_id.clone();
    let colors = Colors::new(args.color.enabled());
    let hint = resume_hint(&run_id, &args.runs_dir);
    let mut out = SharedWriter::new(out);
    let mut err = SharedWriter::new(err);
    let streams = (out.clone(), err.clone());
    let mut reporter = reporter(
        args,
        session.state,
        &session.workflow_text,
        &hint,
        colors,
        streams,
    )?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Error::Agent(format!("cannot start the async runtime: {e}")))?;
    let reaper = crate::reaper::install_for_command();
    let (spec, seed) = (session.spec, session.seed);
    let mut config = codex_config(session.agent);
    let tape = runtime.block_on(Tape::start(session.tape, &mut config))?;
    let step_order: Vec<String> = spec.steps.iter().map(|s| s.id.clone()).collect();
    let (workflow_name, inputs) = (spec.workflow_name.clone(), spec.inputs.clone());
    let run = run(config, &hint, spec, seed, &mut reporter, err.clone());
    let report = runtime.block_on(async {
        reaper.reap_while_running();
        run.await
    });
    reaper.end_adopted();
    let tape_code = tape.map_or(EXIT_SUCCESS, |t| {
        let inputs = inputs.as_object().cloned().unwrap_or_default();
        t.finish(&workflow_name, &inputs, &step_order, &mut err)
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    let report = report?;
    Ok(finish(args, &report, &run_id, &hint, colors, &mut out, &mut err).max(tape_code))
}

/// Starts the agent and runs `spec` on it with `reporter` attached; a second Ctrl-C
/// exits at once, saying so on `err`.
async fn run(
    config: CodexConfig,
    hint: &str,
    spec: RunSpec,
    seed: Seed,
    reporter: &mut Reporter<'_>,
    err: SharedWriter<'_>,
) -> Result<RunReport, Error> {
    let agent = match start_agent(config, hint, err.clone()).await {
        Ok(agent) => Arc::new(agent),
        Err(error) => {
            reporter.write_event(&RunEvent::RunFinished {
                status: Status::Failed,
                duration_ms: 0,
                usage: Default::default(),
            });
            return Err(error);
        }
    };
    let (cancel, again) = cancel_on_signal();
    let mut sink = |e: &RunEvent| reporter.write_event(e);
    let run = engine::execute_seeded(agent.clone(), spec, seed, cancel, &mut sink);
    let report = tokio::select! {
        report = run => report,
        Ok(()) = again => exit_now(err),
    };
    agent.close().await;
    Ok(report)
}

/// Starts the app-server and checks that it can reach a model; a failure is told in the
/// words of `weft doctor`, with `hint` saying how to try again. A codex outside the
/// supported range is a warning on `err`.
async fn start_agent(
    config: CodexConfig,
    hint: &str,
    mut err: SharedWriter<'_>,
) -> Result<CodexAgent, Error> {
    let cannot = |message: String| {
        Error::Agent(format!(
            "could not start the agent: {message}\nto try again: {hint}"
        ))
    };
    let agent = CodexAgent::start(config)
        .await
        .map_err(|e| cannot(diagnose::start_problem(&e).to_string()))?;
    if let Some(problem) = diagnose::version_problem(agent.client().server_version()) {
        let _ = writeln!(err, "warning: {problem}");
    }
    if let Err(message) = agent.check_credentials().await {
        agent.close().await;
        return Err(cannot(message));
    }
    Ok(agent)
}

/// Checks the combinations clap cannot: `--events -` needs stdout to itself.
pub(super) fn check(args: &ReportArgs) -> Result<(), Error> {
    let to_stdout = args.events.as_deref() == Some(Path::new("-"));
    if to_stdout && args.output != RunOutput::Off {
        return Err(Error::Usage(
            "`--events -` writes events to stdout: add `--output off`".into(),
        ));
    }
    Ok(())
}

pub(super) fn codex_config(args: &AgentArgs) -> CodexConfig {
    CodexConfig {
        codex_bin: args.codex_bin.clone(),
        codex_home: None,
        env: Vec::new(),
        config_overrides: args.config.clone(),
        idle_timeout: Some(args.idle_timeout),
        active_turns: Default::default(),
        idle_threads: args.idle_threads,
    }
}

/// The run's reporters: progress on `err` (the live view draws on the terminal itself),
/// events, JUnit, GitHub annotations, and the run record; their warnings go to `err`.
fn reporter<'a>(
    args: &ReportArgs,
    state: RunState,
    workflow_text: &str,
    hint: &str,
    colors: Colors,
    (out, err): (SharedWriter<'a>, SharedWriter<'a>),
) -> Result<Reporter<'a>, Error> {
    let mut reporter = Reporter::new(err.clone());
    if args.progress.live() {
        reporter.add(Live::new(args.verbose, colors));
    } else {
        reporter.add(Plain::new(err.clone(), args.verbose));
    }
    match args.events.as_deref() {
        Some(path) if path == Path::new("-") => reporter.add(JsonLines::new(out)),
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| {
                Error::io(format!("cannot write events to `{}`", path.display()), e)
            })?;
            reporter.add(JsonLines::new(std::io::BufWriter::new(file)));
        }
        None => {}
    }
    if let Some(path) = &args.junit {
        reporter.add(Junit::new(path.clone(), &state.workflow));
    }
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY").map(Into::into);
        reporter.add(GithubActions::new(err, summary, hint));
    }
    let dir = args.runs_dir.join(&state.run_id);
    let cannot = |e| {
        Error::io(
            format!("cannot write the run record in `{}`", dir.display()),
            e,
        )
    };
    let recorder = RunRecorder::create(&dir, state).map_err(cannot)?;
    write_atomic(&dir.join(WORKFLOW_FILE), workflow_text.as_bytes()).map_err(cannot)?;
    reporter.add(recorder);
    Ok(reporter)
}

/// `weft resume ID`, with `--runs-dir` when it is not the default.
fn resume_hint(run_id: &str, runs_dir: &Path) -> String {
    if runs_dir == Path::new(".weft/runs") {
        format!("weft resume {run_id}")
    } else {
        format!("weft resume {run_id} --runs-dir {}", runs_dir.display())
    }
}

/// A watch that turns true on the first SIGINT or SIGTERM, and a receiver that fires on
/// the second one.
fn cancel_on_signal() -> (watch::Receiver<bool>, oneshot::Receiver<()>) {
    let (tx, rx) = watch::channel(false);
    let (again_tx, again_rx) = oneshot::channel();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let _ = tx.send(true);
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let _ = again_tx.send(());
    });
    (rx, again_rx)
}

/// After a second Ctrl-C: exits at once (the app-server dies with weft: the client asks
/// the kernel for that).
fn exit_now(mut err: SharedWriter<'_>) -> ! {
    let _ = writeln!(err, "interrupted again: exiting now");
    crate::reaper::end_installed();
    std::process::exit(EXIT_INTERRUPTED);
}

fn finish(
    args: &ReportArgs,
    report: &RunReport,
    run_id: &str,
    hint: &str,
    colors: Colors,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match args.output {
        RunOutput::Json => {
            let doc = json_report(report, run_id);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let _ = writeln!(out, "{text}");
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
        RunOutput::Off => {}
    }
    let _ = write!(
        err,
        "\n{}",
        summary::table(&report.steps, report.duration.as_millis() as u64, colors)
    );
    if let Some(fatal) = &report.fatal {
        let _ = writeln!(err, "{} the agent failed: {fatal}", colors.error("error:"));
    }
    for step in report.steps.iter().filter(|s| s.status == Status::Failed) {
        let why = step.error.as_deref().unwrap_or("failed");
        let _ = writeln!(
            err,
            "{} step `{}` failed: {why}",
            colors.error("error:"),
            step.id
        );
    }
    let record = args.runs_dir.join(run_id);
    let _ = writeln!(err, "run record: {}", record.display());
    if report.status != Status::Succeeded {
        let _ = writeln!(err, "to continue where it stopped: {hint}");
    }
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
                "reused": s.reused,
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
