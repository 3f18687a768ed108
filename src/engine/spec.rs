//! What the engine executes: steps with their effective policies, resolved from a plan.
//!
//! The engine does not read workflow files: [`RunSpec`] is the executable form that
//! [`crate::engine::run_spec`] builds from a plan (whose policies are merged once, in
//! [`crate::plan::Policies`]), and that unit tests build by hand.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

pub use super::kinds::{GateAnswer, GateSpec, Kind, LoopSpec, ScriptSpec, UnitKind, UntilSpec};
use super::tree::TreeSetup;
use crate::template::TemplateSource;
use crate::vocab::{Approval, Effort, Environment, Isolation, Join, Sandbox, Shell};
use crate::workflow::Input;

/// Which thread a step's turns run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadMode {
    /// A new thread for every turn (and for every fan-out element).
    Fresh,
    /// The named thread of the workflow's `threads:` block: one conversation.
    Named(String),
    /// A new thread forked from the named thread's history as it stands now.
    Fork(String),
    /// An existing thread, by id, continued with `thread/resume`.
    Resume(String),
}

/// One step, with every policy resolved.
#[derive(Debug, Clone)]
pub struct StepSpec {
    pub id: String,
    /// The prompt template's source.
    pub prompt: String,
    /// Indexes (into [`RunSpec::steps`]) of the steps this one waits for.
    pub upstream: Vec<usize>,
    pub thread: ThreadMode,
    /// The author's output schema, resolved (files loaded).
    pub output_schema: Option<Value>,
    pub model: Option<String>,
    pub effort: Option<Effort>,
    pub approval: Approval,
    pub sandbox: Sandbox,
    /// Sent when the step opens its thread (the named or forked thread's instructions).
    pub developer_instructions: Option<String>,
    pub approve_commands: Vec<String>,
    pub approve_files: Vec<String>,
    pub cwd: PathBuf,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub if_expr: Option<String>,
    pub for_each: Option<String>,
    pub as_name: String,
    pub max_parallel: Option<usize>,
    pub continue_on_error: bool,
    pub max_tokens: Option<u64>,
    /// An expression over the step's `output`; when true, a succeeded step fails.
    pub fail_if: Option<String>,
    /// What the step's units are: turns, script runs or gates.
    pub kind: UnitKind,
    /// Environment variables of a script (and `until_run`): names and value templates.
    pub env: Vec<(String, String)>,
    /// What runs a script (and `until_run`).
    pub shell: Shell,
    /// `loop:`: each unit repeats until its condition holds.
    pub looping: Option<LoopSpec>,
    /// Which working tree its units edit.
    pub isolation: Isolation,
    /// Globs over the paths it may change, relative to `cwd` (`None`: anything).
    pub writes: Option<Vec<String>>,
    /// Its repair step (an index), run when its patches conflict.
    pub on_conflict: Option<usize>,
    /// For a repair step: the step whose conflicts it repairs (an index).
    pub repairs: Option<usize>,
    /// The workflow file it is written in: an index into [`RunSpec::scopes`] (0 for the
    /// run's own). Its templates read that file's `inputs`, `steps` and `env`.
    pub scope: usize,
    /// The step that calls the workflow it is in: it starts once that step has opened
    /// (rendered its `with`), and that step finishes after it.
    pub parent: Option<usize>,
    /// A step that `uses` another workflow: it has no units; its parts are the steps of
    /// [`CallSpec::scope`].
    pub call: Option<CallSpec>,
    /// Which upstream results let it run.
    pub join: Join,
    /// The named pool each of its running units takes a place in.
    pub pool: Option<String>,
    /// `model` as a template over `inputs`, rendered when a unit starts (over `model`).
    pub model_template: Option<String>,
    /// `effort` as a template over `inputs`, rendered when a unit starts (over `effort`).
    pub effort_template: Option<String>,
    /// Codex config overrides for the step's thread (`thread/start` `config`).
    pub config: Option<Map<String, Value>>,
    /// Network access inside the `workspace-write` sandbox.
    pub network: bool,
    /// The template files its templates read (name, text): part of its fingerprint.
    pub templates: Vec<(String, String)>,
    /// The shell environment of the threads the step opens (`None`: Codex's default).
    pub environment: Option<Environment>,
    /// `cache`: its results are kept in the result cache and served again.
    pub cache: bool,
    /// `reads`: globs over the files it reads, relative to `cwd` (`None`: the whole
    /// working tree), for its cache key.
    pub reads: Option<Vec<String>>,
}

/// What a step that `uses` a workflow gives it and takes back.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// The file, as written (for messages).
    pub uses: String,
    /// The scope of the called workflow's steps.
    pub scope: usize,
    /// `with`: input name and value; a string is a template over the caller's context.
    pub with: Vec<(String, Value)>,
    /// The called workflow's input declarations (types and defaults).
    pub inputs: Vec<Input>,
    /// The called workflow's `outputs` (name, template): the step's output.
    pub outputs: Vec<(String, String)>,
}

/// One workflow file of a run: its names and where its templates include from.
#[derive(Debug, Clone, Default)]
pub struct ScopeSpec {
    /// What its steps' ids are prefixed with: `""`, `lint/`.
    pub prefix: String,
    /// Its `name` (`workflow.name` in its templates).
    pub workflow_name: String,
    /// Its allow-listed environment (`env.NAME`).
    pub env: Map<String, Value>,
    /// Its template files.
    pub templates: Arc<TemplateSource>,
}

impl StepSpec {
    /// How many of the step's units may run at once: one on a shared conversation, else
    /// `max_parallel` (no limit by default).
    pub fn parallel_limit(&self) -> usize {
        match self.thread {
            ThreadMode::Named(_) | ThreadMode::Resume(_) => 1,
            ThreadMode::Fresh | ThreadMode::Fork(_) => {
                self.max_parallel.unwrap_or(usize::MAX).max(1)
            }
        }
    }

    /// A step with the safe defaults (fresh thread, read-only, never ask), for tests and builders.
    pub fn new(id: &str, prompt: &str) -> Self {
        Self {
            id: id.to_string(),
            prompt: prompt.to_string(),
            upstream: Vec::new(),
            thread: ThreadMode::Fresh,
            output_schema: None,
            model: None,
            effort: None,
            approval: Approval::Never,
            sandbox: Sandbox::ReadOnly,
            developer_instructions: None,
            approve_commands: Vec::new(),
            approve_files: Vec::new(),
            cwd: PathBuf::from("."),
            timeout: None,
            retries: 1,
            if_expr: None,
            for_each: None,
            as_name: "item".into(),
            max_parallel: None,
            continue_on_error: false,
            max_tokens: None,
            fail_if: None,
            kind: UnitKind::Turn,
            env: Vec::new(),
            shell: Shell::Bash,
            looping: None,
            isolation: Isolation::None,
            writes: None,
            on_conflict: None,
            repairs: None,
            scope: 0,
            parent: None,
            call: None,
            join: Join::AllSucceeded,
            pool: None,
            model_template: None,
            effort_template: None,
            config: None,
            network: false,
            templates: Vec::new(),
            environment: None,
            cache: false,
            reads: None,
        }
    }

    /// A script step running `run` (text output), for tests and builders.
    pub fn script(id: &str, run: &str) -> Self {
        let mut step = Self::new(id, "");
        step.kind = UnitKind::Script(ScriptSpec {
            run: run.to_string(),
            output: crate::vocab::OutputFormat::Text,
        });
        step.retries = 0;
        step
    }
}

/// A whole run: the steps in plan order and the run-wide settings.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub workflow_name: String,
    pub run_id: String,
    pub steps: Vec<StepSpec>,
    /// The template context's fixed part: `inputs`, `workflow`, `run`, allow-listed `env`.
    pub inputs: Value,
    pub env: serde_json::Map<String, Value>,
    /// Workflow outputs: name and template.
    pub outputs: Vec<(String, String)>,
    /// How many turns may run at once.
    pub jobs: usize,
    pub fail_fast: bool,
    pub timeout: Option<Duration>,
    pub max_tokens: Option<u64>,
    /// The first pause before retrying an overloaded or transiently failed turn;
    /// it doubles with each attempt (with jitter), up to 30 s.
    pub retry_delay: std::time::Duration,
    /// Answers to gates given before the run, by step id (every element of a fan-out).
    pub gates: std::collections::BTreeMap<String, GateAnswer>,
    /// Where isolated steps get their trees and units keep their patches (`None`: no
    /// step of the run may use `isolation` or a git-checked `writes`).
    pub tree: Option<TreeSetup>,
    /// The run's own directory (`run.dir`, `WEFT_RUN_DIR`): where steps leave files for
    /// each other, kept with the run record. `None` when the run keeps no record.
    pub run_dir: Option<PathBuf>,
    /// The workflow files of the run: the run's own first, then each called one. Empty
    /// means one scope with `workflow_name` and `env`.
    pub scopes: Vec<ScopeSpec>,
    /// Named pools and how many units of their steps may run at once.
    pub pools: Vec<(String, usize)>,
    /// Run only this shard's elements of one fan-out step.
    pub shard: Option<super::shard::Shard>,
    /// The result cache the run reads and writes (`None`: no cache).
    pub cache: Option<super::cached::CacheRun>,
}

impl RunSpec {
    /// A run `run_id` of `steps` with the defaults (4 jobs, no inputs, limits, outputs,
    /// gate answers, trees, run directory, pools or shard; a 1 ms pause between retries), for
    /// tests and builders.
    pub fn new(workflow_name: &str, run_id: &str, steps: Vec<StepSpec>) -> Self {
        Self {
            workflow_name: workflow_name.to_string(),
            run_id: run_id.to_string(),
            steps,
            inputs: Value::Object(Default::default()),
            env: serde_json::Map::new(),
            outputs: Vec::new(),
            jobs: 4,
            fail_fast: false,
            timeout: None,
            max_tokens: None,
            retry_delay: Duration::from_millis(1),
            gates: Default::default(),
            tree: None,
            run_dir: None,
            scopes: Vec::new(),
            pools: Vec::new(),
            shard: None,
            cache: None,
        }
    }

    /// The index of the step `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// The prefix of scope `scope`'s step ids.
    pub fn prefix(&self, scope: usize) -> &str {
        self.scopes.get(scope).map_or("", |s| s.prefix.as_str())
    }

    /// The size of pool `name`.
    pub fn pool_size(&self, name: &str) -> Option<usize> {
        self.pools.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    /// The steps of the workflow that step `call` calls.
    pub fn parts(&self, call: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.steps.len()).filter(move |&i| self.steps[i].parent == Some(call))
    }
}
