//! `weft run --dry-run`: the plan, then every prompt (a gate's question, a script's `env`
//! and text) that can be rendered before the run, rendered with the real inputs and the
//! allowed environment (a loop's first iteration); a prompt that reads other
//! steps' results is marked with the steps it waits for. A render error is an error.

use std::io::Write;

use minijinja::Environment;
use minijinja::value::merge_maps;
use serde_json::{Map, Value, json};

use std::sync::Arc;

use crate::error::{EXIT_INVALID, EXIT_SUCCESS};
use crate::plan::{Format, Plan, render};
use crate::template::environment_with;
use crate::typing::ScalarMap;
use crate::typing::render::{finding, jinja};
use crate::vocab::Effort;
use crate::workflow::refs::{self, Kind};
use crate::workflow::{Diagnostic, Diagnostics, SourceFile, Spanned, Step, StepKind, Workflow};

/// Print the plan and the prompts; exit 2 when a prompt, `if` or `for_each` fails.
pub(super) fn dry_run(
    workflow: &Workflow,
    plan: &Plan,
    inputs: &Map<String, Value>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let _ = write!(out, "{}", render(plan, workflow, Format::Text));
    let env = environment_with(Arc::new(workflow.templates.source()));
    let dry = Dry {
        workflow,
        env: &env,
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
        "run": { "id": "dry-run", "dir": ".weft/runs/dry-run/files" },
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
        if let Some(call) = &step.call {
            let _ = writeln!(
                out,
                "--- {id} (runs `{}`: its prompts are rendered at run time, with its inputs)",
                call.uses.value
            );
            return;
        }
        let mut waits = Vec::new();
        for (role, code) in shown(step) {
            waits.extend(self.reads(step, role, code, Kind::Template));
        }
        if let Some(each) = &step.for_each {
            waits.extend(self.reads(step, "for_each", each, Kind::Expression));
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
        let policies = self.policies(step, errors);
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
            let label = format!("{label}{policies}");
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
        if !self.reads(step, "if", cond, Kind::Expression).is_empty() {
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
        let file = step.file_of(role, self.workflow);
        let map = ScalarMap::new(file, code.span, &code.value);
        let message = format!(
            "`{role}` of step `{}` fails to render: {}",
            step.id.value, found.message
        );
        let d = Diagnostic::new(map.span(found.range), message);
        match Arc::ptr_eq(file, &self.workflow.source) {
            true => d,
            false => d.in_file(file),
        }
    }

    /// ` (model m, effort e)` for a step whose `model` or `effort` is a template, rendered
    /// with the real inputs; a render error or a wrong effort is an error.
    fn policies(&self, step: &Step, errors: &mut Diagnostics) -> String {
        let mut options = self.workflow.defaults.clone();
        if let Some(thread) = step.thread.name().and_then(|n| self.workflow.thread(n)) {
            options = options.overlay(&thread.options);
        }
        let options = options.overlay(&step.options);
        let mut parts = Vec::new();
        for (role, code) in [
            ("model", &options.model_template),
            ("effort", &options.effort_template),
        ] {
            let Some(code) = code else { continue };
            match self.env.render_str(&code.value, self.context.clone()) {
                Ok(text) if role == "effort" && Effort::parse(text.trim()).is_none() => {
                    errors.push(Diagnostic::new(
                        code.span,
                        format!(
                            "`effort` of step `{}` renders to `{}`, which is not an effort",
                            step.id.value,
                            text.trim()
                        ),
                    ));
                }
                Ok(text) => parts.push(format!("{role} {}", text.trim())),
                Err(e) => errors.push(self.failure(step, code, role, &e)),
            }
        }
        match parts.is_empty() {
            true => String::new(),
            false => format!(" ({})", parts.join(", ")),
        }
    }

    /// The steps whose results `code` (the `role` of `step`) reads, also in the
    /// templates it includes.
    fn reads(&self, step: &Step, role: &str, code: &Spanned<String>, kind: Kind) -> Vec<String> {
        let file: &SourceFile = step.file_of(role, self.workflow);
        refs::analyze_with(self.env, file, code, kind, &self.workflow.templates)
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
