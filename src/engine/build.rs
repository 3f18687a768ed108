//! From a validated workflow and its plan to the engine's [`RunSpec`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::spec::{
    CallSpec, GateSpec, LoopSpec, RunSpec, ScopeSpec, ScriptSpec, StepSpec, ThreadMode, UnitKind,
    UntilSpec,
};
use crate::plan::{EdgeKind, Plan, ThreadPlan};
use crate::vocab::Effort;
use crate::workflow::refs;
use crate::workflow::{Loop, Step, StepKind, Until, WithValue, Workflow};

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
    /// The run's own directory (`run.dir`), when it has a record to keep it in.
    pub run_dir: Option<PathBuf>,
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
            run_dir: None,
        }
    }
}

/// Builds the executable form of `workflow` with `inputs`: one step spec per planned step
/// (the steps of called workflows included), one scope per workflow file.
pub fn run_spec(
    workflow: &Workflow,
    plan: &Plan,
    inputs: Map<String, Value>,
    options: &RunOptions,
) -> RunSpec {
    let steps = (0..plan.steps.len())
        .map(|i| step_spec(plan, i, options))
        .collect();
    let scopes: Vec<ScopeSpec> = plan
        .scopes
        .iter()
        .map(|scope| ScopeSpec {
            prefix: scope.prefix.clone(),
            workflow_name: scope.workflow.name.clone(),
            env: allowed_env(&scope.workflow),
            templates: Arc::new(scope.workflow.templates.source()),
        })
        .collect();
    let mut pools: Vec<(String, usize)> = Vec::new();
    for pool in plan.scopes.iter().flat_map(|s| &s.workflow.pools) {
        if !pools.iter().any(|(n, _)| *n == pool.name.value) {
            pools.push((pool.name.value.clone(), pool.size as usize));
        }
    }
    RunSpec {
        workflow_name: workflow.name.clone(),
        run_id: options.run_id.clone(),
        steps,
        inputs: Value::Object(inputs),
        env: allowed_env(workflow),
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
        gates: Default::default(),
        tree: None,
        run_dir: options.run_dir.clone(),
        scopes,
        pools,
        shard: None,
        cache: None,
    }
}

/// The spec of planned step `i`.
fn step_spec(plan: &Plan, i: usize, options: &RunOptions) -> StepSpec {
    let planned = &plan.steps[i];
    let step = plan.step_def(i);
    let p = &planned.policies;
    let mut upstream: Vec<usize> = planned
        .deps
        .iter()
        .filter(|d| !matches!(d.kind, EdgeKind::Part | EdgeKind::Inherited))
        .map(|d| d.step)
        .collect();
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
        scope: planned.scope,
        parent: planned.parent,
        call: call_spec(plan, i, step),
        join: planned.join,
        pool: planned.pool.clone(),
        model_template: p.model_template.clone().filter(|_| options.model.is_none()),
        effort_template: p
            .effort_template
            .clone()
            .filter(|_| options.effort.is_none()),
        config: p.config.clone(),
        network: p.network,
        templates: step_templates(plan.workflow_of(i), step),
        environment: p.environment,
        kind: unit_kind(&step.kind),
        env: step
            .env
            .iter()
            .map(|(n, v)| (n.value.clone(), v.value.clone()))
            .collect(),
        shell: step.shell.clone(),
        looping: step.looping.as_ref().map(loop_spec),
        isolation: plan.workflow_of(i).tree_options(step).isolation(),
        writes: plan
            .workflow_of(i)
            .tree_options(step)
            .writes
            .map(|w| w.value),
        on_conflict: step
            .on_conflict
            .as_ref()
            .and_then(|r| index_in_scope(plan, i, &r.value)),
        repairs: plan
            .workflow_of(i)
            .repair_of(&step.id.value)
            .and_then(|s| index_in_scope(plan, i, &s.id.value)),
        cache: plan.workflow_of(i).cache_options(step).enabled(),
        reads: plan
            .workflow_of(i)
            .cache_options(step)
            .reads
            .map(|r| r.value),
    }
}

/// What a step that `uses` a workflow gives it and takes back.
fn call_spec(plan: &Plan, i: usize, step: &Step) -> Option<CallSpec> {
    let call = step.call.as_ref()?;
    let callee = call.workflow.as_ref()?;
    let scope = plan.scopes.iter().position(|s| s.call == Some(i))?;
    let with = call
        .with
        .iter()
        .map(|(name, value)| {
            let value = match value {
                WithValue::Template(t) => Value::String(t.value.clone()),
                WithValue::Literal(v) => v.value.clone(),
            };
            (name.value.clone(), value)
        })
        .collect();
    Some(CallSpec {
        uses: call.uses.value.clone(),
        scope,
        with,
        inputs: callee.inputs.clone(),
        outputs: callee
            .outputs
            .iter()
            .map(|o| (o.name.value.clone(), o.template.value.clone()))
            .collect(),
    })
}

/// The template files a step's templates read, with their text.
fn step_templates(workflow: &Workflow, step: &Step) -> Vec<(String, String)> {
    let mut names = std::collections::BTreeSet::new();
    for (_, code, kind) in refs::step_code(step) {
        if kind == refs::Kind::Template {
            names.extend(workflow.templates.reachable(&code.value));
        }
    }
    names
        .into_iter()
        .filter_map(|n| {
            let text = workflow.templates.get(&n)?.text.clone();
            Some((n, text))
        })
        .collect()
}

/// The allow-listed environment of `workflow`, read now.
fn allowed_env(workflow: &Workflow) -> Map<String, Value> {
    workflow
        .env
        .iter()
        .map(|name| {
            let value = std::env::var(&name.value).map_or(Value::Null, Value::String);
            (name.value.clone(), value)
        })
        .collect()
}

fn unit_kind(kind: &StepKind) -> UnitKind {
    match kind {
        StepKind::Turn => UnitKind::Turn,
        StepKind::Script(script) => UnitKind::Script(ScriptSpec {
            run: script.run.value.clone(),
            output: script.output,
        }),
        StepKind::Gate(gate) => UnitKind::Gate(GateSpec {
            question: gate.question.value.clone(),
        }),
    }
}

fn loop_spec(looping: &Loop) -> LoopSpec {
    LoopSpec {
        max_iterations: looping.max_iterations,
        until: match &looping.until {
            Until::Expression(e) => UntilSpec::Expression(e.value.clone()),
            Until::Run(r) => UntilSpec::Run(r.value.clone()),
        },
        thread: looping.thread,
        on_max: looping.on_max,
    }
}

/// The plan index of step `id` of the workflow file step `i` is written in.
fn index_in_scope(plan: &Plan, i: usize, id: &str) -> Option<usize> {
    let prefix = &plan.scopes[plan.steps[i].scope].prefix;
    plan.steps
        .iter()
        .position(|s| s.id == format!("{prefix}{id}"))
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
