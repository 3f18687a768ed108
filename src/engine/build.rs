//! From a validated workflow and its plan to the engine's [`RunSpec`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::spec::{RunSpec, StepSpec, ThreadMode};
use crate::plan::{Plan, ThreadPlan};
use crate::vocab::Effort;
use crate::workflow::Workflow;

/// Run-wide settings that come from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    /// How many turns may run at once.
    pub jobs: usize,
    pub fail_fast: bool,
    /// A limit for the whole run.
    pub timeout: Option<Duration>,
    /// Overrides every step's model.
    pub model: Option<String>,
    /// Overrides every step's reasoning effort.
    pub effort: Option<Effort>,
    /// The directory turns run in unless a step's `cwd` says otherwise.
    pub workdir: PathBuf,
    pub retry_delay: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            run_id: String::from("run"),
            jobs: 4,
            fail_fast: false,
            timeout: None,
            model: None,
            effort: None,
            workdir: PathBuf::from("."),
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// Builds the executable form of `workflow` with `inputs`.
pub fn run_spec(
    workflow: &Workflow,
    plan: &Plan,
    inputs: Map<String, Value>,
    options: &RunOptions,
) -> RunSpec {
    let steps = workflow
        .steps
        .iter()
        .zip(&plan.steps)
        .map(|(step, planned)| {
            let p = &planned.policies;
            let mut upstream: Vec<usize> = planned.deps.iter().map(|d| d.step).collect();
            upstream.sort_unstable();
            upstream.dedup();
            StepSpec {
                id: planned.id.clone(),
                prompt: step.prompt.value.clone(),
                upstream,
                thread: match &planned.thread {
                    ThreadPlan::Fresh => ThreadMode::Fresh,
                    ThreadPlan::Named { name } => ThreadMode::Named(name.clone()),
                    ThreadPlan::Fork { name, .. } => ThreadMode::Fork(name.clone()),
                    ThreadPlan::Resume { id } => ThreadMode::Resume(id.clone()),
                },
                output_schema: step.output_schema.clone(),
                model: options.model.clone().or_else(|| p.model.clone()),
                effort: options.effort.or(p.effort),
                approval: p.approval,
                sandbox: p.sandbox,
                developer_instructions: p.developer_instructions.clone(),
                approve_commands: p.approvals.commands.clone().unwrap_or_default(),
                approve_files: p.approvals.files.clone().unwrap_or_default(),
                cwd: absolute(&options.workdir, p.cwd.as_deref()),
                timeout: p.timeout,
                retries: p.retries,
                if_expr: step.if_expr.as_ref().map(|e| e.value.clone()),
                for_each: step.for_each.as_ref().map(|e| e.value.clone()),
                as_name: step.as_name.clone(),
                max_parallel: step.max_parallel.map(|n| n as usize),
                continue_on_error: step.continue_on_error,
                fail_if: step.fail_if.as_ref().map(|e| e.value.clone()),
                max_tokens: p.max_tokens,
                environment: p.environment,
            }
        })
        .collect();
    let env = workflow
        .env
        .iter()
        .map(|name| {
            let value = std::env::var(&name.value).map_or(Value::Null, Value::String);
            (name.value.clone(), value)
        })
        .collect();
    RunSpec {
        workflow_name: workflow.name.clone(),
        run_id: options.run_id.clone(),
        steps,
        inputs: Value::Object(inputs),
        env,
        outputs: workflow
            .outputs
            .iter()
            .map(|o| (o.name.value.clone(), o.template.value.clone()))
            .collect(),
        jobs: options.jobs.max(1),
        fail_fast: options.fail_fast,
        timeout: options.timeout,
        max_tokens: workflow.max_tokens,
        retry_delay: options.retry_delay,
        shard: None,
    }
}

fn absolute(workdir: &Path, cwd: Option<&Path>) -> PathBuf {
    let base = if workdir.is_absolute() {
        workdir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(workdir))
            .unwrap_or_else(|_| workdir.to_path_buf())
    };
    match cwd {
        Some(c) => base.join(c),
        None => base,
    }
}
