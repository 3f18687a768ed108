//! What a run record holds (`run.json`): the workflow as run, its inputs and options, and
//! per step its status, prompt, output, thread, usage, timings and attempts (a script's
//! exit code and stderr, a loop's iterations).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::IterationRecord;
use crate::engine::agent::Usage;
use crate::engine::event::Status;
use crate::engine::spec::Kind;
use crate::engine::tree::Patch;
use crate::vocab::Effort;

/// The format version of `run.json`: 2 keeps fan-out elements in logs of their own
/// (`elements/<step>.jsonl`); version 1 records, with the elements inline, read the same.
pub const RECORD_VERSION: u32 = 2;

/// The file name of the state inside a run directory.
pub const STATE_FILE: &str = "run.json";

/// The copy of the workflow file as run, inside a run directory.
pub const WORKFLOW_FILE: &str = "workflow.yaml";

/// The file name of the event log inside a run directory.
pub const EVENTS_FILE: &str = "events.jsonl";

/// The run's own directory in its record (`run.dir` in templates, `WEFT_RUN_DIR` for
/// scripts): files the steps hand to each other, kept with the record.
pub const FILES_DIR: &str = "files";

/// Where a run or a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
    /// A gate waits for an answer: `weft resume RUN --approve STEP` (or `--reject`).
    Waiting,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Running => "running",
            RecordStatus::Succeeded => "succeeded",
            RecordStatus::Failed => "failed",
            RecordStatus::Skipped => "skipped",
            RecordStatus::Interrupted => "interrupted",
            RecordStatus::Waiting => "waiting",
        }
    }
}

impl From<Status> for RecordStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Succeeded => RecordStatus::Succeeded,
            Status::Failed => RecordStatus::Failed,
            Status::Skipped => RecordStatus::Skipped,
            Status::Interrupted => RecordStatus::Interrupted,
            Status::Waiting => RecordStatus::Waiting,
        }
    }
}

/// The command-line settings a run was started with; `weft resume` uses them again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedOptions {
    pub jobs: usize,
    pub fail_fast: bool,
    pub timeout_ms: Option<u64>,
    pub model: Option<String>,
    pub effort: Option<Effort>,
    /// The directory weft ran in: turns run there again.
    pub workdir: PathBuf,
}

/// What `run.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunState {
    pub version: u32,
    pub run_id: String,
    pub workflow: String,
    pub workflow_path: PathBuf,
    /// SHA-256 of the workflow file as run.
    pub workflow_hash: String,
    /// Per step id, the fingerprint of its definition (prompt, schema, policies, …).
    pub step_hashes: BTreeMap<String, String>,
    pub inputs: Value,
    pub options: RecordedOptions,
    /// `running` until the run ends (or while it is being resumed).
    pub status: RecordStatus,
    /// The process that is running the run, while it runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pid: Option<u32>,
    /// Unix time in milliseconds.
    pub started_at_ms: u64,
    /// Time spent running, over all sessions.
    pub duration_ms: Option<u64>,
    pub usage: Usage,
    /// How many times the run was started: 1, plus one per `weft resume`.
    pub sessions: u32,
    /// Steps in the order they first started or finished.
    pub steps: Vec<StepEntry>,
    /// The environment variables marked secret that were set when the run started (names
    /// only: values are never recorded); `weft resume` needs them set again.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub secret_env: Vec<String>,
    /// The run's part in a sharded fan-out, when it is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<super::ShardRecord>,
    /// The shard runs `weft merge` joined into this run.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub merged_from: Vec<String>,
}

/// One step (or one fan-out element, with `index`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<usize>,
    pub status: RecordStatus,
    /// The rendered prompt of the first attempt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thread_id: Option<String>,
    #[serde(default)]
    pub usage: Usage,
    #[serde(default)]
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub started_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    /// Kept from an earlier session by `weft resume`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub reused: bool,
    /// The files it changed: a patch in the record's `patches/` (for a step, what it
    /// brought back to the working tree).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub patch: Option<Patch>,
    /// The fan-out elements, by index.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub elements: Vec<StepEntry>,
    /// `script` or `gate` (absent for a turn).
    #[serde(skip_serializing_if = "Kind::is_turn", default)]
    pub kind: Kind,
    /// A script's exit code (a list for a fan-out step).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit_code: Option<Value>,
    /// A script's stderr (a list for a fan-out step).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stderr: Option<Value>,
    /// A loop's finished iterations, in order: `weft resume` continues after the last.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub iterations: Vec<IterationRecord>,
    /// Where the elements are kept instead, relative to the run directory
    /// (`elements/<step>.jsonl`); [`RunState::load`] reads them into `elements`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub elements_file: Option<String>,
    /// A fan-out element's `for_each` item (secrets masked): `weft resume` keeps the
    /// element only while its index still has this item.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub item: Option<Value>,
    /// Served from the result cache, not run (a fan-out step: every element was).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub cached: bool,
    /// The tokens its results served from the cache took when they ran: saved.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub saved: Option<Usage>,
}

impl StepEntry {
    pub fn new(id: &str, index: Option<usize>) -> Self {
        Self {
            id: id.to_string(),
            index,
            status: RecordStatus::Running,
            prompt: None,
            output: Value::Null,
            error: None,
            thread_id: None,
            usage: Usage::default(),
            attempts: 0,
            started_at_ms: None,
            duration_ms: None,
            reused: false,
            patch: None,
            elements: Vec::new(),
            kind: Kind::Turn,
            exit_code: None,
            stderr: None,
            iterations: Vec::new(),
            elements_file: None,
            item: None,
            cached: false,
            saved: None,
        }
    }

    /// The outputs of the iterations of a loop, in order; for a fan-out step, a list per
    /// element.
    pub fn iteration_outputs(&self) -> Value {
        let outputs =
            |e: &StepEntry| Value::Array(e.iterations.iter().map(|i| i.output.clone()).collect());
        if self.elements.is_empty() {
            outputs(self)
        } else {
            Value::Array(self.elements.iter().map(outputs).collect())
        }
    }
}

impl RunState {
    /// The entry of step `id`, if the record has one.
    pub fn step(&self, id: &str) -> Option<&StepEntry> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The entry of step `id`, created (running) when missing.
    pub fn step_mut(&mut self, id: &str) -> &mut StepEntry {
        let at = match self.steps.iter().position(|s| s.id == id) {
            Some(at) => at,
            None => {
                self.steps.push(StepEntry::new(id, None));
                self.steps.len() - 1
            }
        };
        &mut self.steps[at]
    }

    /// Reads `dir/run.json` and the fan-out elements it keeps in logs of their own. A
    /// missing directory, a missing file and a damaged file are told apart; nothing is
    /// written.
    pub fn load(dir: &Path) -> Result<RunState, RecordError> {
        let mut state = Self::load_head(dir)?;
        for step in &mut state.steps {
            if let Some(file) = &step.elements_file {
                step.elements = super::elements::read(dir, file)?;
            }
        }
        Ok(state)
    }

    /// Reads `dir/run.json` alone: every step, but not the elements kept in their own logs
    /// (enough to list runs).
    pub fn load_head(dir: &Path) -> Result<RunState, RecordError> {
        let path = dir.join(STATE_FILE);
        let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => RecordError::NotARun {
                dir: dir.to_path_buf(),
            },
            _ => RecordError::Io {
                path: path.clone(),
                source,
            },
        })?;
        serde_json::from_slice(&bytes).map_err(|e| RecordError::Damaged {
            path,
            detail: e.to_string(),
        })
    }
}

/// Why a run record cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("`{}` is not a run record (it has no run.json)", dir.display())]
    NotARun { dir: PathBuf },
    #[error(
        "the run record `{}` is damaged ({detail}); it was left as it is: \
         start a new run with `weft run`",
        path.display()
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no run `{query}` in `{}`{}", dir.display(), hint(known))]
    NoSuchRun {
        query: String,
        dir: PathBuf,
        known: Vec<String>,
    },
    #[error("`{query}` matches several runs: {}", matches.join(", "))]
    Ambiguous { query: String, matches: Vec<String> },
    #[error("there are no runs in `{}`", dir.display())]
    NoRuns { dir: PathBuf },
}

fn hint(known: &[String]) -> String {
    match known.last() {
        Some(last) => format!(" (the latest is `{last}`; `weft runs` lists them)"),
        None => String::new(),
    }
}
