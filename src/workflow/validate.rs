//! Semantic checks across the file: `needs`, thread and pool names resolve, and every
//! template and expression compiles and reads only what its context holds (also in the
//! files it includes). (Cycles and forks are the planner's checks; the composition
//! checks, `uses`, `with` and `network`, are in [`super::compose_checks`].)

use std::sync::Arc;

use super::compose_checks;
use super::diagnostic::{Diagnostic, Diagnostics, suggest};
use super::model::{Step, ThreadRef, Workflow};
use super::refs::{self, Kind, Reference};
use super::source::SourceFile;
use super::spanned::Spanned;

/// The fields of `steps.<id>` (the type-check says which kinds of step have which).
const STEP_FIELDS: &[&str] = &[
    "output",
    "status",
    "thread_id",
    "usage",
    "exit_code",
    "stderr",
    "iterations",
];
/// The fields of `loop` in a `for_each` step.
const LOOP_FIELDS: &[&str] = &["index", "index0", "length", "first", "last"];
/// The fields of `iteration` in a step with `loop`.
const ITERATION_FIELDS: &[&str] = &["number", "previous"];

/// The fields of `run`.
const RUN_FIELDS: &[&str] = &["id", "dir"];

/// Run every semantic check on `workflow`, adding what fails to `out`.
pub fn validate(workflow: &Workflow, out: &mut Diagnostics) {
    for step in &workflow.steps {
        check_needs(workflow, step, out);
        check_thread(workflow, step, out);
        check_step_code(workflow, step, out);
        compose_checks::check_step(workflow, step, out);
    }
    check_outputs(workflow, out);
    super::tree_checks::check(workflow, out);
    let env = crate::template::environment();
    for (what, code) in compose_checks::policy_templates(workflow) {
        let scope = Scope {
            step: None,
            names: Vec::new(),
            in_loop: false,
            only_inputs: true,
            in_iteration: false,
            conflict: false,
        };
        let site = Site {
            file: &workflow.source,
            role: what,
        };
        check_code(workflow, &env, code, Kind::Template, &scope, &site, out);
    }
}

fn step_ids(workflow: &Workflow) -> impl Iterator<Item = &str> {
    workflow.steps.iter().map(|s| s.id.value.as_str())
}

fn check_needs(workflow: &Workflow, step: &Step, out: &mut Diagnostics) {
    for need in &step.needs {
        if need.value == step.id.value {
            out.error(need.span, format!("step `{}` needs itself", step.id.value));
        } else if workflow.step(&need.value).is_none() {
            let hint = suggest(&need.value, step_ids(workflow));
            out.error(
                need.span,
                format!(
                    "step `{}` needs unknown step `{}`{hint}",
                    step.id.value, need.value
                ),
            );
        }
    }
}

fn check_thread(workflow: &Workflow, step: &Step, out: &mut Diagnostics) {
    let (name, key) = match &step.thread {
        ThreadRef::Named(name) => (name, "thread"),
        ThreadRef::Fork(name) => (name, "fork"),
        ThreadRef::Fresh | ThreadRef::Resume(_) => return,
    };
    if workflow.thread(&name.value).is_none() {
        let names = workflow.threads.iter().map(|t| t.name.value.as_str());
        let hint = suggest(&name.value, names);
        let help = if key == "thread" {
            "define it under `threads:` or write `thread: fresh` for a new thread per turn"
        } else {
            "`fork` names a thread defined under `threads:`"
        };
        out.push(
            Diagnostic::new(name.span, format!("unknown thread `{}`{hint}", name.value))
                .with_help(help),
        );
    }
}

/// What a piece of code may read besides the workflow-wide names.
struct Scope<'a> {
    step: Option<&'a Step>,
    /// Names it may read besides: the `for_each` element (`as`), `output` (`fail_if`,
    /// `until`).
    names: Vec<&'a str>,
    /// Whether `loop` is defined (what a `for_each` step renders per element).
    in_loop: bool,
    /// Whether `iteration` is defined (what a `loop` step renders per iteration).
    in_iteration: bool,
    /// Whether `conflict` is defined (the prompt of a repair step).
    conflict: bool,
    /// A `model` or `effort` template: decided before any step runs, so it reads no step.
    only_inputs: bool,
}

/// Where a piece of code is written, and what messages call it.
struct Site<'a> {
    file: &'a Arc<SourceFile>,
    role: &'a str,
}

fn check_step_code(workflow: &Workflow, step: &Step, out: &mut Diagnostics) {
    let env = crate::template::environment();
    for (role, code, kind) in refs::step_code(step) {
        let per_unit = matches!(role, "prompt" | "env" | "gate" | "until");
        let in_loop = per_unit && step.for_each.is_some();
        let mut names = Vec::new();
        if in_loop {
            names.push(step.as_name.as_str());
        }
        if matches!(role, "fail_if" | "until") {
            names.push("output");
        }
        let scope = Scope {
            step: Some(step),
            names,
            in_loop,
            in_iteration: per_unit && step.looping.is_some(),
            conflict: role == "prompt" && workflow.repair_of(&step.id.value).is_some(),
            only_inputs: false,
        };
        let site = Site {
            file: step.file_of(role, workflow),
            role,
        };
        check_code(workflow, &env, code, kind, &scope, &site, out);
    }
}

fn check_outputs(workflow: &Workflow, out: &mut Diagnostics) {
    let env = crate::template::environment();
    let scope = Scope {
        step: None,
        names: Vec::new(),
        in_loop: false,
        in_iteration: false,
        conflict: false,
        only_inputs: false,
    };
    let site = Site {
        file: &workflow.source,
        role: "output",
    };
    for output in &workflow.outputs {
        check_code(
            workflow,
            &env,
            &output.template,
            Kind::Template,
            &scope,
            &site,
            out,
        );
    }
}

fn check_code(
    workflow: &Workflow,
    env: &minijinja::Environment<'static>,
    code: &Spanned<String>,
    kind: Kind,
    scope: &Scope<'_>,
    site: &Site<'_>,
    out: &mut Diagnostics,
) {
    let in_place = |d: Diagnostic| {
        if Arc::ptr_eq(site.file, &workflow.source) {
            d
        } else {
            d.in_file(site.file)
        }
    };
    match refs::analyze_with(env, site.file, code, kind, &workflow.templates) {
        Err(mut syntax) => {
            let whose = match scope.step {
                Some(step) => format!("`{}` of step `{}`", site.role, step.id.value),
                None => format!("`{}`", site.role),
            };
            syntax.message = format!("syntax error in {whose}: {}", syntax.message);
            out.push(in_place(syntax));
        }
        Ok(references) => {
            for reference in references {
                if is_function(env, &reference) {
                    continue;
                }
                let file = reference.file.as_ref().unwrap_or(site.file);
                let found = unknown_function(file, env, &reference)
                    .or_else(|| check_reference(workflow, &reference, scope));
                if let Some(d) = found {
                    out.push(match &reference.file {
                        Some(included) => d.in_file(included),
                        None => in_place(d),
                    });
                }
            }
        }
    }
}

fn check_reference(
    workflow: &Workflow,
    reference: &Reference,
    scope: &Scope<'_>,
) -> Option<Diagnostic> {
    let path = &reference.path;
    let span = reference.span;
    let second = path.get(1).map(String::as_str);
    let fail = |message: String| Some(Diagnostic::new(span, message));
    if scope.only_inputs && matches!(path[0].as_str(), "steps" | "loop") {
        return fail(format!(
            "`{}` is read before any step runs: a `model` or `effort` template reads `inputs`, `env`, `workflow` and `run`",
            path[0]
        ));
    }
    match path[0].as_str() {
        "inputs" => {
            let name = second?;
            if workflow.input(name).is_some() {
                return None;
            }
            let hint = suggest(name, workflow.inputs.iter().map(|i| i.name.value.as_str()));
            Some(
                Diagnostic::new(span, format!("unknown input `{name}`{hint}"))
                    .with_help("declare it under `inputs:`"),
            )
        }
        "steps" => check_step_reference(workflow, reference, scope),
        "workflow" if matches!(second, None | Some("name" | "description")) => None,
        "workflow" => fail(format!(
            "unknown field `workflow.{}`; `workflow` has `name` and `description`",
            second?
        )),
        "run" if second.is_none_or(|f| RUN_FIELDS.contains(&f)) => None,
        "run" => {
            let field = second?;
            let fields = RUN_FIELDS
                .iter()
                .map(|f| format!("run.{f}"))
                .collect::<Vec<_>>();
            let hint = suggest(&format!("run.{field}"), fields.iter().map(String::as_str));
            let hint = if hint.is_empty() {
                "; `run` has `id` and `dir`".to_string()
            } else {
                hint
            };
            fail(format!("unknown field `run.{field}`{hint}"))
        }
        "env" => check_env(workflow, reference),
        "loop" if scope.in_loop => match second {
            Some(f) if !LOOP_FIELDS.contains(&f) => fail(format!(
                "unknown field `loop.{f}`{}",
                suggest(f, LOOP_FIELDS.iter().copied())
            )),
            _ => None,
        },
        "loop" => Some(Diagnostic::new(
            span,
            "`loop` is only defined in the prompt of a step with `for_each`".to_string(),
        )),
        "iteration" if scope.in_iteration => match second {
            Some(f) if !ITERATION_FIELDS.contains(&f) => fail(format!(
                "unknown field `iteration.{f}`{}",
                suggest(f, ITERATION_FIELDS.iter().copied())
            )),
            _ => None,
        },
        "iteration" if !scope.names.contains(&"iteration") => Some(
            Diagnostic::new(
                span,
                "`iteration` is only defined in a step with `loop`".to_string(),
            )
            .with_help(
                "its prompt, `env` and `until` read `iteration.number` and `iteration.previous`",
            ),
        ),
        "conflict" if scope.conflict => None,
        "conflict" => Some(
            Diagnostic::new(
                span,
                "`conflict` is only defined in the prompt of a repair step",
            )
            .with_help("a step's `on_conflict: STEP` names its repair step, which reads the conflict as `conflict`"),
        ),
        name if scope.names.contains(&name) => None,
        name => {
            let mut known = vec!["inputs", "steps", "workflow", "run", "env"];
            known.extend(scope.names.iter().copied());
            let hint = suggest(name, known.iter().copied());
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            Some(
                Diagnostic::new(span, format!("unknown variable `{name}`{hint}"))
                    .with_help(format!("templates can read {}", list.join(", "))),
            )
        }
    }
}

/// Whether the reference is a function the environment defines (`range`).
fn is_function(env: &minijinja::Environment<'static>, reference: &Reference) -> bool {
    let [name] = reference.path.as_slice() else {
        return false;
    };
    env.globals().any(|(n, _)| n == name)
}

/// An unknown name that is called (`rnage(3)`) is an unknown function, not an unknown
/// variable.
fn unknown_function(
    file: &SourceFile,
    env: &minijinja::Environment<'static>,
    reference: &Reference,
) -> Option<Diagnostic> {
    let [name] = reference.path.as_slice() else {
        return None;
    };
    let after = file.text.get(reference.span.end..).unwrap_or("");
    if !after.trim_start().starts_with('(') {
        return None;
    }
    let hint = suggest(name, env.globals().map(|(n, _)| n));
    let names: Vec<String> = env.globals().map(|(n, _)| format!("`{n}`")).collect();
    Some(
        Diagnostic::new(reference.span, format!("unknown function `{name}`{hint}"))
            .with_help(format!("the functions are {}", names.join(", "))),
    )
}

fn check_step_reference(
    workflow: &Workflow,
    reference: &Reference,
    scope: &Scope<'_>,
) -> Option<Diagnostic> {
    let span = reference.span;
    let Some(id) = reference.path.get(1) else {
        return Some(
            Diagnostic::new(span, "`steps` must be followed by a step id")
                .with_help("write `steps.<id>.output`, `steps.<id>.status`, `steps.<id>.thread_id` or `steps.<id>.usage`"),
        );
    };
    if let Some(step) = scope.step {
        if *id == step.id.value {
            return Some(Diagnostic::new(
                span,
                format!("step `{id}` cannot read its own result"),
            ));
        }
    }
    if workflow.step(id).is_none() {
        let hint = suggest(id, step_ids(workflow));
        return Some(Diagnostic::new(span, format!("unknown step `{id}`{hint}")));
    }
    match reference.path.get(2) {
        Some(field) if !STEP_FIELDS.contains(&field.as_str()) => Some(
            Diagnostic::new(
                span,
                format!(
                    "unknown field `{field}` of step `{id}`{}",
                    suggest(field, STEP_FIELDS.iter().copied())
                ),
            )
            .with_help(
                "a step has `output`, `status`, `thread_id` and `usage`; a script also \
                 `exit_code` and `stderr`, a loop `iterations`",
            ),
        ),
        _ => None,
    }
}

fn check_env(workflow: &Workflow, reference: &Reference) -> Option<Diagnostic> {
    let Some(name) = reference.path.get(1) else {
        return Some(Diagnostic::new(
            reference.span,
            "read one variable at a time: `env.NAME`",
        ));
    };
    if workflow.env.iter().any(|e| e.value == *name) {
        return None;
    }
    Some(
        Diagnostic::new(
            reference.span,
            format!("environment variable `{name}` is not in the `env` allow-list"),
        )
        .with_help(format!("add it to the top-level list: `env: [{name}]`")),
    )
}
