//! `weft run --dry-run`: the plan, then every prompt (a gate's question, a script's `env`
//! and text) that can be rendered before the run, rendered with the real inputs and the
//! allowed environment (a loop's first iteration); a prompt that reads other
//! steps' results is marked with the steps it waits for. A render error is an error.

use std::io::Write;

use minijinja::Environment;
use minijinja::value::merge_maps;
use serde_json::{Map, Value, json};

use crate::error::{EXIT_INVALID, EXIT_SUCCESS};
use crate::plan::{Format, Plan, render};
use crate::template::Renderer;
use crate::typing::ScalarMap;
use crate::typing::render::{finding, jinja};
use crate::workflow::refs::{self, Kind};
use crate::workflow::{Diagnostic, Diagnostics, Spanned, Step, StepKind, Workflow};

/// Print the plan and the prompts; exit 2 when a prompt, `if` or `for_each` fails.
pub(super) fn dry_run(
    workflow: &Workflow,
    plan: &Plan,
    inputs: &Map<String, Value>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let _ = write!(out, "{}", render(plan, workflow, Format::Text));
    let renderer = Renderer::new();
    let dry = Dry {
        workflow,
        env: renderer.environment(),
        context: jinja(&context(workflow, inputs)),
    };
    let mut errors = Diagnostics::default();
    let _ = writeln!(out, "\nprompts:");
    for step in &workflow.steps {
        dry.step(step, out, &mut errors);
    }
    if errors.is_empty() {
        return EXIT_SUCCESS;
    }
    errors.sort();
    let _ = writeln!(err, "{}", errors.render(&workflow.source));
    EXIT_INVALID
}

/// The context of the run's first steps: inputs, allowed `env`, no step results yet.
fn context(workflow: &Workflow, inputs: &Map<String, Value>) -> Value {
    let env: Map<String, Value> = workflow
        .env
        .iter()
        .map(|name| {
            let value = std::env::var(&name.value).map_or(Value::Null, Value::String);
            (name.value.clone(), value)
        })
        .collect();
    json!({
        "inputs": inputs,
        "steps": {},
        "workflow": { "name": workflow.name },
        "run": { "id": "dry-run" },
        "env": env,
    })
}

struct Dry<'a> {
    workflow: &'a Workflow,
    env: &'a Environment<'static>,
    context: minijinja::Value,
}

impl Dry<'_> {
    fn step(&self, step: &Step, out: &mut dyn Write, errors: &mut Diagnostics) {
        let id = &step.id.value;
        let mut waits = Vec::new();
        for (_, code) in shown(step) {
            waits.extend(self.reads(code, Kind::Template));
        }
        if let Some(each) = &step.for_each {
            waits.extend(self.reads(each, Kind::Expression));
        }
        dedup(&mut waits);
        if !waits.is_empty() {
            let list: Vec<String> = waits.iter().map(|w| format!("`{w}`")).collect();
            let _ = writeln!(
                out,
                "--- {id} (rendered at run time: it waits for {})",
                list.join(", ")
            );
            return;
        }
        if !self.runs(step, errors) {
            let _ = writeln!(out, "--- {id} (skipped: `if` is false)");
            return;
        }
        let Some(items) = self.items(step, errors) else {
            return;
        };
        let total = items.len();
        for (i, item) in items.into_iter().enumerate() {
            let mut extra = std::collections::BTreeMap::new();
            let label = match item {
                Some(item) => {
                    extra.insert(step.as_name.clone(), item);
                    extra.insert("loop".to_string(), loop_value(i, total));
                    format!("{id}#{}", i + 1)
                }
                None => id.clone(),
            };
            if step.looping.is_some() {
                extra.insert(
                    "iteration".into(),
                    jinja(&json!({"number": 1, "previous": null})),
                );
            }
            let context = merge_maps([minijinja::Value::from(extra), self.context.clone()]);
            if !self.unit(step, &label, &context, out, errors) {
                return;
            }
        }
    }

    /// Renders what one unit of `step` shows (its prompt, its gate's question, a
    /// script's `env` and the script itself); false when something does not render.
    fn unit(
        &self,
        step: &Step,
        label: &str,
        context: &minijinja::Value,
        out: &mut dyn Write,
        errors: &mut Diagnostics,
    ) -> bool {
        let iteration = if step.looping.is_some() {
            " (iteration 1)"
        } else {
            ""
        };
        let mut lines = Vec::new();
        for (role, code) in shown(step) {
            match self.env.render_str(&code.value, context.clone()) {
                Ok(text) if role == "prompt" || role == "gate" => {
                    lines.push(text.trim_end().to_string());
                }
                Ok(text) => lines.push(format!("{role}={text}")),
                Err(e) => {
                    let _ = writeln!(out, "--- {label} (does not render: see the error)");
                    errors.push(self.failure(step, code, role, &e));
                    return false;
                }
            }
        }
        if let Some(script) = step.kind.script() {
            lines.push(format!("$ {}", script.run.value.trim_end()));
        }
        let _ = writeln!(out, "--- {label}{iteration}");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        true
    }

    /// Whether the step runs as far as can be told now: false only when its `if` reads
    /// no step and is false.
    fn runs(&self, step: &Step, errors: &mut Diagnostics) -> bool {
        let Some(cond) = &step.if_expr else {
            return true;
        };
        if !self.reads(cond, Kind::Expression).is_empty() {
            return true;
        }
        match self.eval(&cond.value) {
            Ok(v) => v.is_true(),
            Err(e) => {
                errors.push(self.failure(step, cond, "if", &e));
                true
            }
        }
    }

    /// The fan-out elements (`[None]` without `for_each`); `None` when they cannot be had.
    fn items(
        &self,
        step: &Step,
        errors: &mut Diagnostics,
    ) -> Option<Vec<Option<minijinja::Value>>> {
        let Some(each) = &step.for_each else {
            return Some(vec![None]);
        };
        match self.eval(&each.value) {
            Ok(v) if v.kind() == minijinja::value::ValueKind::Seq => Some(
                v.try_iter()
                    .map(|i| i.map(Some).collect())
                    .unwrap_or_default(),
            ),
            Ok(v) => {
                let message = format!(
                    "`for_each` of step `{}` gave a {} value, not a list",
                    step.id.value,
                    v.kind()
                );
                errors.push(Diagnostic::new(each.span, message));
                None
            }
            Err(e) => {
                errors.push(self.failure(step, each, "for_each", &e));
                None
            }
        }
    }

    /// A render error of `code` (the `role` of `step`) as a diagnostic at its place.
    fn failure(
        &self,
        step: &Step,
        code: &Spanned<String>,
        role: &str,
        error: &minijinja::Error,
    ) -> Diagnostic {
        let found = finding(error, &code.value);
        let map = ScalarMap::new(&self.workflow.source, code.span, &code.value);
        let message = format!(
            "`{role}` of step `{}` fails to render: {}",
            step.id.value, found.message
        );
        Diagnostic::new(map.span(found.range), message)
    }

    /// The steps whose results `code` reads.
    fn reads(&self, code: &Spanned<String>, kind: Kind) -> Vec<String> {
        refs::analyze(self.env, &self.workflow.source, code, kind)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.path.len() >= 2 && r.path[0] == "steps")
            .map(|r| r.path[1].clone())
            .collect()
    }

    fn eval(&self, code: &str) -> Result<minijinja::Value, minijinja::Error> {
        self.env
            .compile_expression(code)?
            .eval(self.context.clone())
    }
}

/// The templates a dry run renders for each unit of `step`, by role: the prompt of a
/// turn, the question of a gate, a script's `env` values (as `env.NAME`).
fn shown(step: &Step) -> Vec<(&str, &Spanned<String>)> {
    let mut shown: Vec<(&str, &Spanned<String>)> = match &step.kind {
        StepKind::Turn => vec![("prompt", &step.prompt)],
        StepKind::Gate(gate) => vec![("gate", &gate.question)],
        StepKind::Script(_) => Vec::new(),
    };
    shown.extend(
        step.env
            .iter()
            .map(|(name, value)| (name.value.as_str(), value)),
    );
    shown
}

fn loop_value(i: usize, total: usize) -> minijinja::Value {
    jinja(&json!({
        "index": i + 1, "index0": i, "length": total, "first": i == 0, "last": i + 1 == total,
    }))
}

fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|x| seen.insert(x.clone()));
}
