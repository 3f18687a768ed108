//! Effective policies of a step: built-in safe defaults, then `defaults:`, then the
//! step's thread (named or forked), then the step itself.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::vocab::{Approval, Effort, Environment, Sandbox};
use crate::workflow::{ApprovalRules, Step, Workflow};

/// What a step's turn runs under once everything is inherited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policies {
    /// The model; `None` leaves it to the Codex configuration.
    pub model: Option<String>,
    /// Reasoning effort; `None` leaves it to the model.
    pub effort: Option<Effort>,
    /// Approval policy (default `never`).
    pub approval: Approval,
    /// Sandbox mode (default `read-only`).
    pub sandbox: Sandbox,
    /// Per-turn timeout; `None` means no limit.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Option<Duration>,
    /// Extra attempts (default 0).
    pub retries: u32,
    /// Working directory; `None` is the directory weft runs in.
    pub cwd: Option<PathBuf>,
    /// What weft approves when asked (default: nothing).
    pub approvals: ApprovalRules,
    /// Token budget per turn.
    pub max_tokens: Option<u64>,
    /// Developer instructions given when the step's thread starts: the step's, its
    /// thread's, or `defaults`'.
    pub developer_instructions: Option<String>,
    /// `model` as a template over `inputs`, rendered when the run starts (`model` is
    /// `None` then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_template: Option<String>,
    /// `effort` as a template over `inputs` (`effort` is `None` then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort_template: Option<String>,
    /// Codex config overrides for the step's thread (defaults', the thread's and the
    /// step's, key by key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    /// Network access in the `workspace-write` sandbox.
    pub network: bool,
    /// The shell environment of the threads it opens; `None` leaves it to the Codex
    /// configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

fn serialize_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&crate::vocab::format_duration(*d)),
        None => s.serialize_none(),
    }
}

impl Policies {
    /// Resolve `step`'s policies in `workflow`.
    pub fn resolve(workflow: &Workflow, step: &Step) -> Policies {
        let thread = step.thread.name().and_then(|n| workflow.thread(n));
        let mut options = workflow.defaults.clone();
        if let Some(thread) = thread {
            options = options.overlay(&thread.options);
        }
        options = options.overlay(&step.options);
        Policies {
            model: options.model,
            effort: options.effort,
            approval: options.approval.unwrap_or_default(),
            sandbox: options.sandbox.unwrap_or_default(),
            timeout: options.timeout,
            retries: options.retries.unwrap_or(0),
            cwd: options.cwd,
            approvals: options.approvals.unwrap_or_default(),
            max_tokens: options.max_tokens,
            developer_instructions: options
                .developer_instructions
                .map(|d| d.value)
                .or_else(|| thread.and_then(|t| t.developer_instructions.clone())),
            model_template: options.model_template.map(|t| t.value),
            effort_template: options.effort_template.map(|t| t.value),
            config: options.config.map(|c| c.value),
            network: options.network.is_some_and(|n| n.value),
            environment: options.environment,
        }
    }
}
