//! `weft run --record` and `--replay`: set up the local model provider before the run,
//! and after it save the cassette or report what differed from it.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::args::{ReplayMode, RunArgs};
use crate::cassette::{
    CASSETTE_VERSION, Cassette, IsolatedHome, Replay, TapeLog, TapeMode, TapeServer, Upstream,
    probe, toml_inline,
};
use crate::engine::CodexConfig;
use crate::error::{EXIT_INVALID, EXIT_STEP_FAILED, Error};
use crate::redact::{Redact, Redactor};

/// The provider name weft gives the app-server for recording and replaying.
const PROVIDER: &str = "weft_tape";

/// The cassette of `--replay`, read before the run (its inputs fill those not given).
pub fn load_replay(args: &RunArgs) -> Result<Option<Cassette>, Error> {
    match &args.replay {
        Some(path) => Ok(Some(Cassette::load(path)?)),
        None => Ok(None),
    }
}

/// `--input` pairs, plus the cassette's recorded inputs for the names not given (none
/// when an `--inputs` file is given: it says what the user wants).
pub fn inputs_with_recorded(args: &RunArgs, cassette: Option<&Cassette>) -> Vec<(String, String)> {
    let mut pairs = args.inputs.clone();
    let Some(cassette) = cassette.filter(|_| args.inputs_file.is_none()) else {
        return pairs;
    };
    for (name, value) in &cassette.inputs {
        if !pairs.iter().any(|(n, _)| n == name) {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            pairs.push((name.clone(), text));
        }
    }
    pairs
}

/// What a session is asked to record or replay (nothing, for `weft resume`).
#[derive(Default)]
pub struct TapeSetup {
    /// `--record CASSETTE`.
    pub record: Option<PathBuf>,
    /// The cassette of `--replay`, already read.
    pub replay: Option<Cassette>,
    pub mode: ReplayMode,
    /// The run's secrets: masked in the saved cassette, and in each request a replay
    /// compares with the recording.
    pub redactor: Redactor,
    /// Texts of this run to record (and compare) as names (`<run.dir>`, `<run.id>`), so
    /// that a prompt reading `run.dir` replays in another run.
    pub placeholders: Vec<(String, String)>,
}

/// A running record or replay, from before the run to after it.
pub struct Tape {
    server: TapeServer,
    job: Job,
    _home: Option<tempfile::TempDir>,
}

enum Job {
    Record {
        path: PathBuf,
        model: Option<String>,
        redactor: Redactor,
    },
    Replay {
        cassette: Cassette,
        strict: bool,
    },
}

impl Tape {
    /// Starts the local provider for `--record` or `--replay` (none without them) and
    /// points `config` at it. Errors are for the user, before the run starts.
    pub async fn start(setup: TapeSetup, config: &mut CodexConfig) -> Result<Option<Tape>, Error> {
        let tape = if let Some(path) = setup.record {
            Some(Self::record(path, setup.redactor, config).await?)
        } else {
            match setup.replay {
                Some(cassette) => {
                    Some(Self::replay(cassette, setup.mode, setup.redactor, config).await?)
                }
                None => None,
            }
        };
        if let Some(tape) = &tape {
            tape.server.set_placeholders(setup.placeholders);
        }
        Ok(tape)
    }

    async fn record(
        path: PathBuf,
        redactor: Redactor,
        config: &mut CodexConfig,
    ) -> Result<Tape, Error> {
        let target = probe(config).await?;
        let mode = TapeMode::Record(Upstream::new(&target.upstream));
        let server = TapeServer::start(mode, config.active_turns.clone())
            .await
            .map_err(|e| Error::io("cannot start the recording server", e))?;
        let mut provider = target.provider;
        provider.insert("base_url".into(), Value::String(server.url()));
        let table = toml_inline(&Value::Object(provider));
        config
            .config_overrides
            .push(("model_provider".into(), PROVIDER.into()));
        config
            .config_overrides
            .push((format!("model_providers.{PROVIDER}"), table));
        let job = Job::Record {
            path,
            model: target.model,
            redactor,
        };
        Ok(Tape {
            server,
            job,
            _home: None,
        })
    }

    /// Replays in an isolated `CODEX_HOME` whose only provider is the replay server, so
    /// neither the user's credentials nor their config are needed (or can interfere).
    async fn replay(
        cassette: Cassette,
        mode: ReplayMode,
        redactor: Redactor,
        config: &mut CodexConfig,
    ) -> Result<Tape, Error> {
        let strict = mode == ReplayMode::Strict;
        let replay = Replay {
            cassette: cassette.clone(),
            strict,
            redactor,
        };
        let server = TapeServer::start(TapeMode::Replay(replay), config.active_turns.clone())
            .await
            .map_err(|e| Error::io("cannot start the replay server", e))?;
        let home = tempfile::Builder::new()
            .prefix("weft-replay-")
            .tempdir()
            .map_err(|e| Error::io("cannot create a CODEX_HOME for the replay", e))?;
        let codex_home = home.path().join("home");
        let tmp = home.path().join("tmp");
        let settings = IsolatedHome {
            model: cassette
                .model
                .clone()
                .unwrap_or_else(|| "weft-replay".into()),
            ..IsolatedHome::default()
        };
        settings
            .write(&codex_home, &server.url())
            .and_then(|()| std::fs::create_dir_all(&tmp))
            .map_err(|e| Error::io("cannot write the replay CODEX_HOME", e))?;
        config.codex_home = Some(codex_home);
        config
            .env
            .push(("TMPDIR".into(), tmp.display().to_string()));
        Ok(Tape {
            server,
            job: Job::Replay { cassette, strict },
            _home: Some(home),
        })
    }

    /// After the run: saves the cassette (record) or reports the differences (replay).
    /// Returns the exit code the tape asks for (non-zero when a strict replay differed).
    pub fn finish(
        self,
        workflow: &str,
        inputs: &Map<String, Value>,
        step_order: &[String],
        err: &mut dyn Write,
    ) -> i32 {
        let log = self.server.finish();
        if log.unattributed > 0 {
            let _ = writeln!(
                err,
                "warning: {} model request(s) belonged to no step's turn and were not {}",
                log.unattributed,
                if matches!(self.job, Job::Record { .. }) {
                    "recorded"
                } else {
                    "answered"
                }
            );
        }
        match self.job {
            Job::Record {
                path,
                model,
                redactor,
            } => {
                let saved = Saved {
                    model,
                    workflow,
                    inputs,
                    redactor,
                };
                save(path, saved, step_order, log, err)
            }
            Job::Replay { cassette, strict } => report(&cassette, strict, &log, err),
        }
    }
}

/// What a recorded cassette says besides its exchanges.
struct Saved<'a> {
    model: Option<String>,
    workflow: &'a str,
    inputs: &'a Map<String, Value>,
    redactor: Redactor,
}

/// Writes the cassette, its secrets masked.
fn save(
    path: PathBuf,
    saved: Saved<'_>,
    step_order: &[String],
    log: TapeLog,
    err: &mut dyn Write,
) -> i32 {
    let mut cassette = Cassette {
        weft_cassette: CASSETTE_VERSION,
        workflow: saved.workflow.to_string(),
        model: saved.model,
        inputs: saved.inputs.clone(),
        exchanges: log.recorded,
    };
    cassette.redact(&saved.redactor);
    match cassette.save(&path, step_order) {
        Ok(()) => {
            let n = cassette.exchanges.len();
            let _ = writeln!(err, "recorded {n} model request(s) to {}", path.display());
            0
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}

fn report(cassette: &Cassette, strict: bool, log: &TapeLog, err: &mut dyn Write) -> i32 {
    let level = if strict { "error" } else { "warning" };
    for mismatch in &log.mismatches {
        let _ = writeln!(err, "{level}: replay: {mismatch}");
    }
    let unused: Vec<String> = cassette
        .exchanges
        .iter()
        .map(|e| e.key())
        .filter(|k| !log.served.contains(k) && !log.mismatches.iter().any(|m| &m.key == k))
        .map(|k| k.to_string())
        .collect();
    if !unused.is_empty() {
        let _ = writeln!(
            err,
            "note: replay: {} recorded answer(s) were not asked for: {}",
            unused.len(),
            unused.join(", ")
        );
    }
    if strict && !log.mismatches.is_empty() {
        EXIT_STEP_FAILED
    } else {
        0
    }
}
