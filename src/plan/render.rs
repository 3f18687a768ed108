//! `weft plan` output: a text table by level, Mermaid, Graphviz dot, or JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::build::{EdgeKind, Plan, PlannedStep, ThreadPlan};
use crate::vocab::{Join, OnMax, format_duration};
use crate::workflow::{Loop, Step, StepKind, Until, WithValue, Workflow};

/// An output format of `weft plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Steps by level, with dependencies, thread, policies, fan-out and conditions.
    Text,
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz digraph.
    Dot,
    /// The plan as JSON.
    Json,
}

/// Render `plan` of `workflow` in `format` (the plan holds the workflow's steps, and
/// those of the workflows it calls).
pub fn render(plan: &Plan, _workflow: &Workflow, format: Format) -> String {
    match format {
        Format::Text => text(plan),
        Format::Mermaid => mermaid(plan),
        Format::Dot => dot(plan),
        Format::Json => serde_json::to_string_pretty(&to_json(plan)).unwrap_or_default() + "\n",
    }
}

fn kind_note(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Needs => "",
        EdgeKind::Reference => " (template)",
        EdgeKind::ThreadOrder => " (thread order)",
        EdgeKind::Fork => " (fork)",
        EdgeKind::OnConflict => " (on conflict)",
        EdgeKind::Part => " (sub-workflow)",
        EdgeKind::Inherited => " (via its caller)",
    }
}

fn thread_text(plan: &Plan, thread: &ThreadPlan) -> String {
    match thread {
        ThreadPlan::Fresh => "fresh".into(),
        ThreadPlan::Named { name } => name.clone(),
        ThreadPlan::Fork { name, after } => match after {
            Some(a) => format!("fork of {name} after `{}`", plan.steps[*a].id),
            None => format!("fork of {name}"),
        },
        ThreadPlan::Resume { id } => format!("resume {id}"),
    }
}

fn policies_text(step: &PlannedStep, kind: &StepKind) -> String {
    let p = &step.policies;
    let mut parts = Vec::new();
    if !matches!(kind, StepKind::Turn) {
        parts.extend(p.timeout.map(|t| format!("timeout {}", format_duration(t))));
        if kind.script().is_some() {
            parts.push(format!("retries {}", p.retries));
            parts.extend(p.cwd.as_ref().map(|c| format!("cwd {}", c.display())));
        }
        if parts.is_empty() {
            parts.push("-".into());
        }
        return parts.join(", ");
    }
    parts.extend(p.model.as_ref().map(|m| format!("model {m}")));
    parts.extend(p.model_template.as_ref().map(|m| format!("model {m}")));
    parts.extend(p.effort.map(|e| format!("effort {}", e.as_str())));
    parts.extend(p.effort_template.as_ref().map(|e| format!("effort {e}")));
    parts.push(format!("sandbox {}", p.sandbox.as_str()));
    if p.network {
        parts.push("network".into());
    }
    parts.push(format!("approval {}", p.approval.as_str()));
    parts.extend(p.timeout.map(|t| format!("timeout {}", format_duration(t))));
    parts.push(format!("retries {}", p.retries));
    parts.extend(p.cwd.as_ref().map(|c| format!("cwd {}", c.display())));
    parts.extend(p.max_tokens.map(|m| format!("max_tokens {m}")));
    parts.extend(p.environment.map(|e| format!("environment {}", e.as_str())));
    parts.join(", ")
}

fn approvals_text(step: &PlannedStep) -> Option<String> {
    let rules = &step.policies.approvals;
    let list = |v: &Option<Vec<String>>| {
        v.as_ref().map(|v| match v.is_empty() {
            true => "nothing".to_string(),
            false => v
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
        })
    };
    let mut parts = Vec::new();
    parts.extend(list(&rules.commands).map(|c| format!("commands {c}")));
    parts.extend(list(&rules.files).map(|f| format!("files {f}")));
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workflow `{}`: {} steps in {} levels",
        plan.name,
        plan.steps.len(),
        plan.levels.len()
    );
    let workflow = &plan.scopes[0].workflow;
    let secrets = workflow.secret_paths();
    if !secrets.is_empty() {
        let _ = writeln!(
            out,
            "secrets: {} (masked as *** in everything weft writes)",
            list(&secrets)
        );
    }
    let pools = pools_text(plan);
    if !pools.is_empty() {
        let _ = writeln!(out, "pools: {pools}");
    }
    for (n, level) in plan.levels.iter().enumerate() {
        let _ = writeln!(out, "\nlevel {}", n + 1);
        for &i in level {
            step_text(&mut out, plan, i);
        }
    }
    let path: Vec<&str> = plan
        .critical_path
        .iter()
        .map(|&i| plan.steps[i].id.as_str())
        .collect();
    let _ = writeln!(out, "\ncritical path (*): {}", path.join(" → "));
    out
}

/// The run's pools (of every file) and their sizes: `heavy 2, models 1`.
fn pools_text(plan: &Plan) -> String {
    let mut pools: Vec<(String, u32)> = Vec::new();
    for scope in &plan.scopes {
        for pool in &scope.workflow.pools {
            if !pools.iter().any(|(n, _)| *n == pool.name.value) {
                pools.push((pool.name.value.clone(), pool.size));
            }
        }
    }
    let parts: Vec<String> = pools.iter().map(|(n, s)| format!("{n} {s}")).collect();
    parts.join(", ")
}

/// `uses ./lint.yaml with name = {{ … }}`, for a step that calls a workflow.
fn uses_text(step: &Step) -> Option<String> {
    let call = step.call.as_ref()?;
    let with: Vec<String> = call
        .with
        .iter()
        .map(|(name, value)| match value {
            WithValue::Template(t) => format!("{} = {}", name.value, t.value),
            WithValue::Literal(v) => format!("{} = {}", name.value, v.value),
        })
        .collect();
    Some(match with.is_empty() {
        true => call.uses.value.clone(),
        false => format!("{}, with {}", call.uses.value, with.join(", ")),
    })
}

/// The first line of developer instructions, shortened.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let short: String = line.chars().take(60).collect();
    if short.len() < line.len() || text.trim().lines().count() > 1 {
        format!("{short}…")
    } else {
        short
    }
}

fn step_text(out: &mut String, plan: &Plan, i: usize) {
    let planned = &plan.steps[i];
    let step = plan.step_def(i);
    let mark = if planned.critical { " *" } else { "" };
    let _ = writeln!(out, "  {}{mark}", planned.id);
    let needs: Vec<String> = planned
        .deps
        .iter()
        .map(|d| format!("{}{}", plan.steps[d.step].id, kind_note(d.kind)))
        .collect();
    let needs = if needs.is_empty() {
        "-".into()
    } else {
        needs.join(", ")
    };
    let _ = writeln!(out, "    needs     {needs}");
    if planned.join != Join::AllSucceeded {
        let _ = writeln!(out, "    join      {}", planned.join.as_str());
    }
    if let Some(uses) = uses_text(step) {
        let _ = writeln!(out, "    uses      {uses}");
        step_conditions(out, plan, i);
        return;
    }
    kind_text(out, step);
    if let Some(file) = &step.prompt_file {
        let _ = writeln!(out, "    prompt    {}", file.path.value);
    }
    if matches!(step.kind, StepKind::Turn) {
        let _ = writeln!(out, "    thread    {}", thread_text(plan, &planned.thread));
    }
    let _ = writeln!(out, "    policies  {}", policies_text(planned, &step.kind));
    if let (Some(approves), StepKind::Turn) = (approvals_text(planned), &step.kind) {
        let _ = writeln!(out, "    approves  {approves}");
    }
    if let Some(looping) = &step.looping {
        let _ = writeln!(out, "    loop      {}", loop_text(looping, &step.kind));
    }
    let p = &planned.policies;
    if let Some(text) = &p.developer_instructions {
        let _ = writeln!(out, "    instructs {}", first_line(text));
    }
    if let Some(config) = &p.config {
        let keys: Vec<&str> = config.keys().map(String::as_str).collect();
        let _ = writeln!(out, "    config    {}", keys.join(", "));
    }
    if let Some(pool) = &planned.pool {
        let _ = writeln!(out, "    pool      {pool}");
    }
    step_conditions(out, plan, i);
}

/// The lines of what decides whether and how often step `i` runs, its output checks, the
/// secrets it reads and its working tree.
fn step_conditions(out: &mut String, plan: &Plan, i: usize) {
    let (step, workflow) = (plan.step_def(i), plan.workflow_of(i));
    if let Some(each) = &step.for_each {
        let limit = step
            .max_parallel
            .map(|m| format!(", max_parallel {m}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    for_each  {} as {}{limit}",
            each.value, step.as_name
        );
    }
    if let Some(cond) = &step.if_expr {
        let _ = writeln!(out, "    if        {}", cond.value);
    }
    if step.output_schema.is_some() && step.kind.script().is_none() {
        let _ = writeln!(out, "    output    json (schema-checked)");
    }
    if let Some(cond) = &step.fail_if {
        let _ = writeln!(out, "    fail_if   {}", cond.value);
    }
    if step.continue_on_error {
        let _ = writeln!(out, "    continue_on_error");
    }
    let secrets = workflow.secrets_read_by(plan.steps[i].local);
    if !secrets.is_empty() {
        let _ = writeln!(
            out,
            "    secrets   {} (read by its templates)",
            list(&secrets)
        );
    }
    if let Some(tree) = tree_text(workflow, step) {
        let _ = writeln!(out, "    tree      {tree}");
    }
    if let Some(cache) = cache_text(workflow, step) {
        let _ = writeln!(out, "    cache     {cache}");
    }
}

/// `on, reads `src/**``, or `on, never served: why`, for a step with `cache: true`.
fn cache_text(workflow: &Workflow, step: &crate::workflow::Step) -> Option<String> {
    let options = workflow.cache_options(step);
    if !options.enabled() {
        return None;
    }
    if let Some(why) = super::cache_checks::eligibility(workflow, step).declined() {
        return Some(format!("on, never served: {why}"));
    }
    Some(match &options.reads {
        Some(reads) => format!("on, reads {}", list(&reads.value)),
        None => "on, reads the working tree".into(),
    })
}

/// `a`, `b` as back-ticked names.
fn list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// A script's or a gate's own lines: what it runs (and with which shell, `env` and
/// `output`), or what it asks.
fn kind_text(out: &mut String, step: &Step) {
    match &step.kind {
        StepKind::Turn => {}
        StepKind::Script(script) => {
            let _ = writeln!(
                out,
                "    run       {} ({})",
                one_line(&script.run.value),
                step.shell.describe()
            );
            let checked = if step.output_schema.is_some() {
                " (schema-checked)"
            } else {
                ""
            };
            let _ = writeln!(out, "    output    {}{checked}", script.output.as_str());
        }
        StepKind::Gate(gate) => {
            let _ = writeln!(out, "    gate      {}", one_line(&gate.question.value));
        }
    }
    if !step.env.is_empty() {
        let names: Vec<&str> = step.env.iter().map(|(n, _)| n.value.as_str()).collect();
        let _ = writeln!(out, "    env       {}", names.join(", "));
    }
}

fn loop_text(looping: &Loop, kind: &StepKind) -> String {
    let until = match &looping.until {
        Until::Expression(e) => format!("until {}", e.value),
        Until::Run(r) => format!("until `{}` exits 0", one_line(&r.value)),
    };
    let mut text = format!("{until}, at most {} iterations", looping.max_iterations);
    if matches!(kind, StepKind::Turn) {
        text.push_str(&format!(", thread {}", looping.thread.as_str()));
    }
    if looping.on_max == OnMax::Succeed {
        text.push_str(", succeeds at the limit");
    }
    text
}

/// A script or template on one line, cut at 80 characters.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// How Mermaid and dot label a step's node: a turn's thread, else its kind.
fn node_text(plan: &Plan, i: usize) -> String {
    match &plan.step_def(i).kind {
        StepKind::Turn => thread_text(plan, &plan.steps[i].thread),
        other => other.name().to_string(),
    }
}

/// `worktree, writes `src/**`, on conflict `repair`` for a step that says anything
/// about its tree (or inherits it).
fn tree_text(workflow: &Workflow, step: &crate::workflow::Step) -> Option<String> {
    let tree = workflow.tree_options(step);
    let mut parts = Vec::new();
    if tree.isolation() != crate::vocab::Isolation::None {
        parts.push(tree.isolation().as_str().to_string());
    }
    if let Some(writes) = &tree.writes {
        let list: Vec<String> = writes.value.iter().map(|p| format!("`{p}`")).collect();
        parts.push(format!("writes {}", list.join(", ")));
    }
    if let Some(repair) = &step.on_conflict {
        parts.push(format!("on conflict `{}`", repair.value));
    }
    if let Some(target) = workflow.repair_of(&step.id.value) {
        parts.push(format!("repairs `{}` in its merge tree", target.id.value));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A Mermaid node id for step `id`: prefixed, so that a step named like a Mermaid keyword
/// (`end`, `style`, `class`, `click`) cannot end or break the chart.
fn mermaid_id(id: &str) -> String {
    format!("step_{}", id.replace('/', "__"))
}

fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{}\"]",
            mermaid_id(&step.id),
            step.id,
            node_text(plan, i).replace('"', "'")
        );
    }
    for step in &plan.steps {
        for dep in &step.deps {
            let from = &plan.steps[dep.step].id;
            let arrow = match dep.kind {
                EdgeKind::Needs | EdgeKind::Reference => "-->".to_string(),
                EdgeKind::ThreadOrder => "-.->|thread|".to_string(),
                EdgeKind::Fork => "-.->|fork|".to_string(),
                EdgeKind::OnConflict => "-.->|on conflict|".to_string(),
                EdgeKind::Part => "-.->|part of|".to_string(),
                EdgeKind::Inherited => "-.->|via caller|".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} {arrow} {}",
                mermaid_id(from),
                mermaid_id(&step.id)
            );
        }
    }
    let critical: Vec<String> = plan
        .critical_path
        .iter()
        .map(|&i| mermaid_id(&plan.steps[i].id))
        .collect();
    out.push_str("  classDef critical stroke-width:3px\n");
    if !critical.is_empty() {
        let _ = writeln!(out, "  class {} critical", critical.join(","));
    }
    out
}

fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box];\n",
        plan.name.replace('"', "\\\"")
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let width = if step.critical { ", penwidth=3" } else { "" };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"{width}];",
            step.id,
            step.id,
            node_text(plan, i).replace('"', "'")
        );
    }
    for step in &plan.steps {
        for dep in &step.deps {
            let style = match dep.kind {
                EdgeKind::Needs | EdgeKind::Reference => String::new(),
                EdgeKind::ThreadOrder => " [style=dashed, label=\"thread\"]".into(),
                EdgeKind::Fork => " [style=dashed, label=\"fork\"]".into(),
                EdgeKind::OnConflict => " [style=dotted, label=\"on conflict\"]".into(),
                EdgeKind::Part => " [style=dotted, label=\"part of\"]".into(),
                EdgeKind::Inherited => " [style=dotted, label=\"via caller\"]".into(),
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\"{style};",
                plan.steps[dep.step].id, step.id
            );
        }
    }
    out.push_str("}\n");
    out
}

fn to_json(plan: &Plan) -> Value {
    let id = |i: &usize| plan.steps[*i].id.clone();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let s = plan.step_def(i);
            let workflow = plan.workflow_of(i);
            json!({
                "id": p.id,
                "level": p.level + 1,
                "needs": p.deps.iter().map(|d| json!({"step": id(&d.step), "kind": d.kind})).collect::<Vec<_>>(),
                "thread": p.thread,
                "policies": p.policies,
                "for_each": s.for_each.as_ref().map(|e| &e.value),
                "as": s.for_each.as_ref().map(|_| &s.as_name),
                "max_parallel": s.max_parallel,
                "if": s.if_expr.as_ref().map(|e| &e.value),
                "output_schema": s.output_schema.is_some(),
                "fail_if": s.fail_if.as_ref().map(|e| &e.value),
                "continue_on_error": s.continue_on_error,
                "critical": p.critical,
                "prompt_file": s.prompt_file.as_ref().map(|f| &f.path.value),
                "uses": s.call.as_ref().map(|c| &c.uses.value),
                "with": s.call.as_ref().map(|c| c.with.iter().map(|(n, v)| (n.value.clone(), match v {
                    WithValue::Template(t) => Value::String(t.value.clone()),
                    WithValue::Literal(l) => l.value.clone(),
                })).collect::<serde_json::Map<String, Value>>()),
                "part_of": p.parent.map(|c| id(&c)),
                "join": p.join,
                "pool": p.pool,
                "secrets": workflow.secrets_read_by(p.local),
                "kind": s.kind.name(),
                "run": s.kind.script().map(|r| &r.run.value),
                "shell": s.kind.script().map(|_| s.shell.describe()),
                "output": s.kind.script().map(|r| r.output.as_str()),
                "gate": s.kind.gate().map(|g| &g.question.value),
                "env": s.env.iter().map(|(n, v)| (n.value.clone(), Value::String(v.value.clone()))).collect::<serde_json::Map<String, Value>>(),
                "loop": s.looping.as_ref().map(loop_json),
                "isolation": workflow.tree_options(s).isolation(),
                "writes": workflow.tree_options(s).writes.map(|w| w.value),
                "on_conflict": s.on_conflict.as_ref().map(|r| &r.value),
                "cache": workflow.cache_options(s).enabled(),
                "reads": workflow.cache_options(s).reads.map(|r| r.value),
            })
        })
        .collect();
    let pools: serde_json::Map<String, Value> = plan
        .scopes
        .iter()
        .flat_map(|s| s.workflow.pools.iter())
        .map(|p| (p.name.value.clone(), json!(p.size)))
        .collect();
    json!({
        "workflow": plan.name,
        "pools": pools,
        "steps": steps,
        "order": plan.order.iter().map(id).collect::<Vec<_>>(),
        "levels": plan.levels.iter().map(|l| l.iter().map(id).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "critical_path": plan.critical_path.iter().map(id).collect::<Vec<_>>(),
        "secrets": plan.scopes[0].workflow.secret_paths(),
    })
}

fn loop_json(looping: &Loop) -> Value {
    let (until, until_run) = match &looping.until {
        Until::Expression(e) => (Some(&e.value), None),
        Until::Run(r) => (None, Some(&r.value)),
    };
    json!({
        "max_iterations": looping.max_iterations,
        "until": until,
        "until_run": until_run,
        "thread": looping.thread.as_str(),
        "on_max": looping.on_max.as_str(),
    })
}
