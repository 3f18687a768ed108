//! The loaded workflow, as the planner and the engine use it: names keep their spans,
//! output schemas are loaded, durations parsed, steps in declaration order.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::approval_rules::ApprovalRules;
use super::cache_options::CacheOptions;
pub use super::compose::{Call, Pool, PromptFile, WithValue};
pub use super::raw::InputType;
use super::source::{SourceFile, Span};
use super::spanned::Spanned;
pub use super::step_kind::{Gate, Loop, Script, StepKind, Until};
pub use super::templates::TemplateFiles;
use super::tree_options::TreeOptions;
use crate::vocab::{Approval, Effort, Environment, Join, Sandbox, Shell};

/// A loaded, valid workflow file.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// `name`, or the file stem when the file has none.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// Declared inputs, in file order.
    pub inputs: Vec<Input>,
    /// `defaults`: what every step inherits.
    pub defaults: Options,
    /// Named threads, in file order.
    pub threads: Vec<ThreadDef>,
    /// The environment variables templates may read as `env.NAME`.
    pub env: Vec<Spanned<String>>,
    /// Steps, in declaration order.
    pub steps: Vec<Step>,
    /// `outputs`: name and template, in file order.
    pub outputs: Vec<Output>,
    /// Token budget for the whole run.
    pub max_tokens: Option<u64>,
    /// The file's path as given.
    pub path: PathBuf,
    /// The directory relative paths in the file are resolved against.
    pub base_dir: PathBuf,
    /// The file's text, for diagnostics.
    pub source: Arc<SourceFile>,
    /// The names in `env` marked `secret: true`, in file order.
    pub secret_env: Vec<String>,
    /// `pools`: named limits on how many steps run at once, in file order.
    pub pools: Vec<Pool>,
    /// The template files its templates include or import (and its prompt files), as read
    /// when it was checked.
    pub templates: TemplateFiles,
}

impl Workflow {
    /// The step with id `id`.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id.value == id)
    }

    /// The named thread `name`.
    pub fn thread(&self, name: &str) -> Option<&ThreadDef> {
        self.threads.iter().find(|t| t.name.value == name)
    }

    /// The declared input `name`.
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name.value == name)
    }

    /// The pool `name`.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name.value == name)
    }
}

/// A declared input.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its name.
    pub name: Spanned<String>,
    /// Its type.
    pub ty: InputType,
    /// `description`.
    pub description: Option<String>,
    /// `default`, already checked against `ty`.
    pub default: Option<Value>,
    /// Required: `required`, else true unless there is a default.
    pub required: bool,
    /// The allowed values of an `enum` input.
    pub values: Vec<Value>,
    /// `secret: true`: the value is masked as `***` in everything weft writes.
    pub secret: bool,
}

/// Policies and limits that `defaults`, a thread and a step can each set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// The model.
    pub model: Option<String>,
    /// Reasoning effort.
    pub effort: Option<Effort>,
    /// Approval policy.
    pub approval: Option<Approval>,
    /// Sandbox mode.
    pub sandbox: Option<Sandbox>,
    /// Per-turn timeout.
    pub timeout: Option<Duration>,
    /// Extra attempts after a failed or invalid answer.
    pub retries: Option<u32>,
    /// Working directory of the turn (relative to where weft runs).
    pub cwd: Option<PathBuf>,
    /// What weft approves when asked.
    pub approvals: Option<ApprovalRules>,
    /// Token budget per turn.
    pub max_tokens: Option<u64>,
    /// `isolation` and `writes`.
    pub tree: TreeOptions,
    /// `model` written as a template over `inputs` (then `model` is `None`).
    pub model_template: Option<Spanned<String>>,
    /// `effort` written as a template over `inputs` (then `effort` is `None`).
    pub effort_template: Option<Spanned<String>>,
    /// Developer instructions given when the step's thread starts.
    pub developer_instructions: Option<Spanned<String>>,
    /// Codex config overrides for the step's thread, by top-level key.
    pub config: Option<Spanned<Map<String, Value>>>,
    /// Network access inside a `workspace-write` sandbox.
    pub network: Option<Spanned<bool>>,
    /// The shell environment of new threads (`None`: the Codex configuration's).
    pub environment: Option<Environment>,
    /// `cache` and `reads`.
    pub cache: CacheOptions,
}

impl Options {
    /// Field by field, `over` wins where it says something (approval rules merge per list).
    pub fn overlay(&self, over: &Options) -> Options {
        let approvals = match (&self.approvals, &over.approvals) {
            (Some(base), Some(top)) => Some(base.overlay(top)),
            (base, top) => top.clone().or_else(|| base.clone()),
        };
        let model_set = over.model.is_some() || over.model_template.is_some();
        let model = if model_set { over } else { self };
        let effort_set = over.effort.is_some() || over.effort_template.is_some();
        let effort = if effort_set { over } else { self };
        let config = match (&self.config, &over.config) {
            (Some(base), Some(top)) => {
                let mut merged = base.value.clone();
                merged.extend(top.value.clone());
                Some(Spanned::new(merged, top.span))
            }
            (base, top) => top.clone().or_else(|| base.clone()),
        };
        Options {
            model: model.model.clone(),
            model_template: model.model_template.clone(),
            effort: effort.effort,
            effort_template: effort.effort_template.clone(),
            developer_instructions: over
                .developer_instructions
                .clone()
                .or_else(|| self.developer_instructions.clone()),
            config,
            network: over.network.clone().or_else(|| self.network.clone()),
            approval: over.approval.or(self.approval),
            sandbox: over.sandbox.or(self.sandbox),
            timeout: over.timeout.or(self.timeout),
            retries: over.retries.or(self.retries),
            cwd: over.cwd.clone().or_else(|| self.cwd.clone()),
            approvals,
            max_tokens: over.max_tokens.or(self.max_tokens),
            tree: self.tree.overlay(&over.tree),
            environment: over.environment.or(self.environment),
            cache: self.cache.overlay(&over.cache),
        }
    }
}

/// A named thread: one conversation shared by the steps that name it.
#[derive(Debug, Clone)]
pub struct ThreadDef {
    /// Its name.
    pub name: Spanned<String>,
    /// Options its steps (and steps forking it) inherit over `defaults`.
    pub options: Options,
    /// Developer instructions sent when the thread starts.
    pub developer_instructions: Option<String>,
}

/// Which conversation a step's turn runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadRef {
    /// A new thread for every turn (`thread: fresh` or nothing).
    Fresh,
    /// The named thread (`thread: NAME`).
    Named(Spanned<String>),
    /// A new thread forked from the named thread's history (`fork: NAME`).
    Fork(Spanned<String>),
    /// An existing thread by id; the value is a template (`resume: "{{ inputs.thread }}"`).
    Resume(Spanned<String>),
}

impl ThreadRef {
    /// The thread name for `Named` and `Fork`.
    pub fn name(&self) -> Option<&str> {
        match self {
            ThreadRef::Named(n) | ThreadRef::Fork(n) => Some(&n.value),
            ThreadRef::Fresh | ThreadRef::Resume(_) => None,
        }
    }
}

/// One step: a turn, a script or a gate (or one per `for_each` item).
#[derive(Debug, Clone)]
pub struct Step {
    /// Its id.
    pub id: Spanned<String>,
    /// `description`.
    pub description: Option<String>,
    /// The prompt template of a turn (empty for a script or a gate).
    pub prompt: Spanned<String>,
    /// Explicit dependencies.
    pub needs: Vec<Spanned<String>>,
    /// Its thread.
    pub thread: ThreadRef,
    /// The JSON Schema its answer must satisfy (loaded when given as a path).
    pub output_schema: Option<Value>,
    /// Where `output_schema` is written: the inline schema, or the path of its file.
    pub output_schema_span: Option<Span>,
    /// Its own options (the planner resolves the effective ones).
    pub options: Options,
    /// `if`: an expression; the step is skipped when it is falsy.
    pub if_expr: Option<Spanned<String>>,
    /// `for_each`: an expression giving a list; one turn per element.
    pub for_each: Option<Spanned<String>>,
    /// `as`: the name of the element in templates (`item` by default).
    pub as_name: String,
    /// At most this many `for_each` turns at once.
    pub max_parallel: Option<u32>,
    /// A failure of this step does not fail its dependents or the run.
    pub continue_on_error: bool,
    /// `fail_if`: an expression over the step's `output`; true fails the step.
    pub fail_if: Option<Spanned<String>>,
    /// What the step is: a turn, a script or a gate.
    pub kind: StepKind,
    /// `env:` of a script (and of a loop's `until_run`): each name and its value template.
    pub env: Vec<(Spanned<String>, Spanned<String>)>,
    /// `shell:`: what runs the script (and `until_run`).
    pub shell: Shell,
    /// `loop:`: the step repeats until its condition holds.
    pub looping: Option<Loop>,
    /// `on_conflict`: the step that repairs a conflict between this step's patches.
    pub on_conflict: Option<Spanned<String>>,
    /// `prompt_file`: the prompt is that file's text (then `prompt`'s spans are in it).
    pub prompt_file: Option<PromptFile>,
    /// `uses`: the step runs another workflow file's steps (then it has no prompt).
    pub call: Option<Call>,
    /// `join`: which upstream results let it run.
    pub join: Join,
    /// Where `join` is written.
    pub join_span: Option<Span>,
    /// `pool`: the named pool it takes a place in while it runs.
    pub pool: Option<Spanned<String>>,
}

impl Step {
    /// The file the code of `role` (`prompt`, `if`, ...) is written in: the prompt file
    /// for the prompt of a `prompt_file` step, else the workflow file.
    pub fn file_of<'a>(&'a self, role: &str, workflow: &'a Workflow) -> &'a Arc<SourceFile> {
        match (&self.prompt_file, role) {
            (Some(file), "prompt") => &file.source,
            _ => &workflow.source,
        }
    }
}

/// One entry of `outputs`.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its name.
    pub name: Spanned<String>,
    /// The template giving its value.
    pub template: Spanned<String>,
}
