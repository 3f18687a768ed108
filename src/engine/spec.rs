//! What the engine executes: steps with their effective policies, resolved from a plan.
//!
//! The engine does not read workflow files: [`RunSpec`] is the executable form that
//! [`crate::engine::run_spec`] builds from a plan (whose policies are merged once, in
//! [`crate::plan::Policies`]), and that unit tests build by hand.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::vocab::{Approval, Effort, Environment, Sandbox};

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
    /// The shell environment of the threads the step opens (`None`: Codex's default).
    pub environment: Option<Environment>,
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
            environment: None,
        }
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
    /// Run only this shard's elements of one fan-out step.
    pub shard: Option<super::shard::Shard>,
}

impl RunSpec {
    /// The index of the step `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }
}
