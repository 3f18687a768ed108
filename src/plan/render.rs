//! `weft plan` output: a text table by level, Mermaid, Graphviz dot, or JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::build::{EdgeKind, Plan, PlannedStep, ThreadPlan};
use crate::vocab::format_duration;
use crate::workflow::Workflow;

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

/// Render `plan` of `workflow` in `format`.
pub fn render(plan: &Plan, workflow: &Workflow, format: Format) -> String {
    match format {
        Format::Text => text(plan, workflow),
        Format::Mermaid => mermaid(plan),
        Format::Dot => dot(plan),
        Format::Json => {
            serde_json::to_string_pretty(&to_json(plan, workflow)).unwrap_or_default() + "\n"
        }
    }
}

fn kind_note(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Needs => "",
        EdgeKind::Reference => " (template)",
        EdgeKind::ThreadOrder => " (thread order)",
        EdgeKind::Fork => " (fork)",
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

fn policies_text(step: &PlannedStep) -> String {
    let p = &step.policies;
    let mut parts = Vec::new();
    parts.extend(p.model.as_ref().map(|m| format!("model {m}")));
    parts.extend(p.effort.map(|e| format!("effort {}", e.as_str())));
    parts.push(format!("sandbox {}", p.sandbox.as_str()));
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

fn text(plan: &Plan, workflow: &Workflow) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workflow `{}`: {} steps in {} levels",
        plan.name,
        plan.steps.len(),
        plan.levels.len()
    );
    for (n, level) in plan.levels.iter().enumerate() {
        let _ = writeln!(out, "\nlevel {}", n + 1);
        for &i in level {
            step_text(&mut out, plan, workflow, i);
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

fn step_text(out: &mut String, plan: &Plan, workflow: &Workflow, i: usize) {
    let planned = &plan.steps[i];
    let step = &workflow.steps[i];
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
    let _ = writeln!(out, "    thread    {}", thread_text(plan, &planned.thread));
    let _ = writeln!(out, "    policies  {}", policies_text(planned));
    if let Some(approves) = approvals_text(planned) {
        let _ = writeln!(out, "    approves  {approves}");
    }
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
    if step.output_schema.is_some() {
        let _ = writeln!(out, "    output    json (schema-checked)");
    }
    if let Some(cond) = &step.fail_if {
        let _ = writeln!(out, "    fail_if   {}", cond.value);
    }
    if step.continue_on_error {
        let _ = writeln!(out, "    continue_on_error");
    }
}

/// A Mermaid node id for step `id`: prefixed, so that a step named like a Mermaid keyword
/// (`end`, `style`, `class`, `click`) cannot end or break the chart.
fn mermaid_id(id: &str) -> String {
    format!("step_{id}")
}

fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    for step in &plan.steps {
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{}\"]",
            mermaid_id(&step.id),
            step.id,
            thread_text(plan, &step.thread).replace('"', "'")
        );
    }
    for step in &plan.steps {
        for dep in &step.deps {
            let from = &plan.steps[dep.step].id;
            let arrow = match dep.kind {
                EdgeKind::Needs | EdgeKind::Reference => "-->".to_string(),
                EdgeKind::ThreadOrder => "-.->|thread|".to_string(),
                EdgeKind::Fork => "-.->|fork|".to_string(),
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
    for step in &plan.steps {
        let width = if step.critical { ", penwidth=3" } else { "" };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"{width}];",
            step.id,
            step.id,
            thread_text(plan, &step.thread).replace('"', "'")
        );
    }
    for step in &plan.steps {
        for dep in &step.deps {
            let style = match dep.kind {
                EdgeKind::Needs | EdgeKind::Reference => String::new(),
                EdgeKind::ThreadOrder => " [style=dashed, label=\"thread\"]".into(),
                EdgeKind::Fork => " [style=dashed, label=\"fork\"]".into(),
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

fn to_json(plan: &Plan, workflow: &Workflow) -> Value {
    let id = |i: &usize| plan.steps[*i].id.clone();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .zip(&workflow.steps)
        .map(|(p, s)| {
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
            })
        })
        .collect();
    json!({
        "workflow": plan.name,
        "steps": steps,
        "order": plan.order.iter().map(id).collect::<Vec<_>>(),
        "levels": plan.levels.iter().map(|l| l.iter().map(id).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "critical_path": plan.critical_path.iter().map(id).collect::<Vec<_>>(),
    })
}
