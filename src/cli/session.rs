//! One session of a run (`weft run`, or `weft resume`): start the app-server, execute with
//! the reporters attached, then say how it ended on stdout and stderr; the exit code.
//! Everything the session prints goes to the writers it is given.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::cache_args::CacheArgs;
use super::cache_setup;
use super::commands::Writer;
use super::common_args::{AgentArgs, ReportArgs, RunOutput};
use super::gate_prompt::TerminalGates;
use super::tape::{Tape, TapeSetup};
use crate::client::diagnose;
use crate::engine::agent::NoAgent;
use crate::engine::event::{RunEvent, Status};
use crate::engine::gate::{Gatekeeper, NoGatekeeper};
use crate::engine::spec::{RunSpec, UnitKind};
use crate::engine::{self, CacheRun, CodexAgent, CodexConfig, RunReport, Seed};
use crate::error::{EXIT_INTERRUPTED, EXIT_SUCCESS, Error};
use crate::redact::{Redact, RedactingWriter, Redactor};
use crate::report::{
    Colors, FILES_DIR, GithubActions, JsonLines, Junit, Live, LivePause, Plain, Reporter,
    RunRecorder, RunState, SharedWriter, WORKFLOW_FILE, write_atomic,
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
    /// How the run uses the result cache (`None`: not at all).
    pub cache: Option<&'a CacheArgs>,
    /// A cassette to record or replay, if any.
    pub tape: TapeSetup,
    /// The run's secrets: masked in every event before any reporter sees it, and in the
    /// record's first state. (The caller masks what the session prints.)
    pub redactor: Redactor,
}

/// Runs `body` with everything it prints masked by `redactor`; an error it returns is
/// printed (masked too) and gives the exit code.
pub(super) fn masked(
    out: &mut Writer,
    err: &mut Writer,
    redactor: &Redactor,
    body: impl FnOnce(&mut Writer, &mut Writer) -> Result<i32, Error>,
) -> i32 {
    let mut out = RedactingWriter::new(out, redactor.clone());
    let mut err = RedactingWriter::new(err, redactor.clone());
    let code = match body(&mut out, &mut err) {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(err, "{}", error.render());
            error.exit_code()
        }
    };
    let _ = out.finish();
    let _ = err.finish();
    code
}

/// Runs the session to its end; the exit code.
pub(super) fn execute(
    session: Session<'_>,
    out: &mut Writer,
    err: &mut Writer,
) -> Result<i32, Error> {
    let args = session.report;
    let run_id = session.spec.run_id.clone();
    let workdir = session.state.options.workdir.clone();
    let colors = Colors::new(args.color.enabled());
    let hint = resume_hint(&run_id, &args.runs_dir);
    let mut out = SharedWriter::new(out);
    let mut err = SharedWriter::new(err);
    let streams = (out.clone(), err.clone());
    let workflow_path = session.state.workflow_path.clone();
    let state = session.state.redacted(&session.redactor);
    let record = (state, gone_on_from(&session.spec));
    let (mut reporter, pause) =
        reporter(args, record, &session.workflow_text, &hint, colors, streams)?;
    let secrets = session.redactor.clone();
    reporter.redact_with(session.redactor);
    let keeper = gatekeeper(pause);
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Error::Agent(format!("cannot start the async runtime: {e}")))?;
    let reaper = crate::reaper::install_for_command();
    let (mut spec, seed) = (session.spec, session.seed);
    let outputs: Vec<&Path> = args
        .events
        .iter()
        .chain(&args.junit)
        .map(|p| p.as_path())
        .collect();
    spec.tree = Some(super::trees::setup(
        &run_id,
        &workdir,
        &args.runs_dir,
        &outputs,
        &mut err,
    ));
    let tree_own = spec
        .tree
        .as_ref()
        .map(|t| t.own.clone())
        .unwrap_or_default();
    spec.cache = session.cache.and_then(|args| {
        let paths = (workflow_path.as_path(), workdir.as_path());
        let run = cache_setup::cache_run(args, &spec, paths, &tree_own, &session.agent.config);
        run.map(|run| CacheRun { secrets, ..run })
    });
    let store = spec.cache.as_ref().map(|c| c.store.clone());
    if let (Some(tree), Some(store)) = (spec.tree.as_mut(), &store) {
        // Results stored while a step runs are not its changes.
        tree.own.push(store.dir().to_path_buf());
    }
    if let Some(cache) = &spec.cache {
        if let Err(e) = cache.store.check_writable() {
            let _ = writeln!(
                err,
                "warning: the result cache `{}` cannot be written ({e}): no result of this run is stored",
                cache.store.dir().display()
            );
        }
        cache_setup::prime(cache);
    }
    let mut config = codex_config(session.agent);
    let mut tape_setup = session.tape;
    if let Some(dir) = &spec.run_dir {
        let dir = dir.display().to_string();
        config.env.push(("WEFT_RUN_DIR".into(), dir.clone()));
        tape_setup.placeholders = vec![
            (dir, "<run.dir>".into()),
            (spec.run_id.clone(), "<run.id>".into()),
        ];
    }
    let tape = runtime.block_on(Tape::start(tape_setup, &mut config))?;
    let step_order: Vec<String> = spec.steps.iter().map(|s| s.id.clone()).collect();
    let (workflow_name, inputs) = (spec.workflow_name.clone(), spec.inputs.clone());
    let run = run(
        config,
        &hint,
        (spec, seed, keeper),
        &mut reporter,
        err.clone(),
    );
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
    if let (Some(args), Some(store)) = (session.cache, &store) {
        cache_setup::prune_after(args, store);
    }
    let report = report?;
    let code = super::finish::finish(args, &report, &run_id, &hint, colors, &mut out, &mut err);
    Ok(code.max(tape_code))
}

/// Starts the agent and runs `spec` on it with `reporter` attached (a run without turns
/// starts no agent); a second Ctrl-C exits at once, saying so on `err`.
async fn run(
    config: CodexConfig,
    hint: &str,
    (spec, seed, keeper): (RunSpec, Seed, Arc<dyn Gatekeeper>),
    reporter: &mut Reporter<'_>,
    err: SharedWriter<'_>,
) -> Result<RunReport, Error> {
    if !spec.steps.iter().any(|s| s.kind == UnitKind::Turn) {
        let (cancel, again) = cancel_on_signal();
        let mut sink = |e: &RunEvent| reporter.write_event(e);
        let run = engine::execute_gated(Arc::new(NoAgent), keeper, spec, seed, cancel, &mut sink);
        return Ok(tokio::select! {
            report = run => report,
            Ok(()) = again => exit_now(err),
        });
    }
    let mut spec = spec;
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
    cache_setup::set_codex_version(&mut spec, agent.client().server_version());
    let (cancel, again) = cancel_on_signal();
    let mut sink = |e: &RunEvent| reporter.write_event(e);
    let run = engine::execute_gated(agent.clone(), keeper, spec, seed, cancel, &mut sink);
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

/// The steps the run goes on from once they succeed: those others wait for, and loops
/// (whose next iteration follows the last); their success is on disk before it does.
fn gone_on_from(spec: &RunSpec) -> Vec<String> {
    let waited: std::collections::HashSet<usize> = spec
        .steps
        .iter()
        .flat_map(|s| s.upstream.iter().copied().chain(s.parent))
        .collect();
    spec.steps
        .iter()
        .enumerate()
        .filter(|(i, s)| waited.contains(i) || s.looping.is_some())
        .map(|(_, s)| s.id.clone())
        .collect()
}

/// The run's reporters: progress on `err` (the live view draws on the terminal itself),
/// events, JUnit, GitHub annotations, and the run record (the state to start from, and
/// the steps whose success it saves at once); their warnings go to `err`.
fn reporter<'a>(
    args: &ReportArgs,
    (state, durable): (RunState, Vec<String>),
    workflow_text: &str,
    hint: &str,
    colors: Colors,
    (out, err): (SharedWriter<'a>, SharedWriter<'a>),
) -> Result<(Reporter<'a>, Option<LivePause>), Error> {
    let mut reporter = Reporter::new(err.clone());
    let mut pause = None;
    if args.progress.live() {
        let live = Live::new(args.verbose, colors);
        pause = Some(live.pauser());
        reporter.add(live);
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
    let recorder = RunRecorder::create(&dir, state)
        .map_err(cannot)?
        .saving_before(durable);
    write_atomic(&dir.join(WORKFLOW_FILE), workflow_text.as_bytes()).map_err(cannot)?;
    std::fs::create_dir_all(dir.join(FILES_DIR)).map_err(cannot)?;
    reporter.add(recorder);
    Ok((reporter, pause))
}

/// Who answers gates: a person at the terminal when stdin and stderr are one; else
/// nobody, and a gate without an answer waits.
fn gatekeeper(pause: Option<LivePause>) -> Arc<dyn Gatekeeper> {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Arc::new(NoGatekeeper);
    }
    let stdin = std::io::BufReader::new(std::io::stdin());
    let stderr: Arc<std::sync::Mutex<dyn Write + Send>> =
        Arc::new(std::sync::Mutex::new(std::io::stderr()));
    Arc::new(Arc::new(TerminalGates::new(stdin, stderr, pause)))
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
