//! Lowering what a step is: exactly one of `prompt`, `run` and `gate`; a script's `env`,
//! `shell` and `output`; `loop:`. Also the rule that keeps inputs and model output from
//! ever being run as shell: `run` and `until_run` are not templates, so a `{{` in them is
//! an error that points to `env:`. Keys that mean nothing for the step's kind are errors.

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::lower::Context;
use super::model::ThreadRef;
use super::node::PathSegment;
use super::raw::{RawLoop, RawStep};
use super::refs::locate;
use super::source::Span;
use super::spanned::Spanned;
use super::step_kind::{Gate, Loop, Script, StepKind, Until};
use crate::vocab::{LoopThread, OnMax, OutputFormat, Shell};

/// A step's kind and what goes with it.
pub(super) struct Kinded {
    /// The prompt of a turn; empty (at the step id) for the other kinds.
    pub prompt: Spanned<String>,
    pub kind: StepKind,
    pub env: Vec<(Spanned<String>, Spanned<String>)>,
    pub shell: Shell,
    pub looping: Option<Loop>,
}

/// Keys a step of `kind` never uses, with why.
fn not_for(kind: &StepKind) -> (&'static [&'static str], &'static str) {
    const AGENT: &[&str] = &[
        "thread",
        "fork",
        "resume",
        "model",
        "effort",
        "approval",
        "sandbox",
        "approvals",
        "max_tokens",
    ];
    const GATE: &[&str] = &[
        "thread",
        "fork",
        "resume",
        "model",
        "effort",
        "approval",
        "sandbox",
        "approvals",
        "max_tokens",
        "retries",
        "cwd",
    ];
    match kind {
        StepKind::Turn => (&[], ""),
        StepKind::Script(_) => (AGENT, "weft runs a script itself, without the agent"),
        StepKind::Gate(_) => (GATE, "a person answers a gate"),
    }
}

/// Lower the kind of step `id` (taking its fields out of `raw`); `thread` is its lowered
/// thread.
pub(super) fn lower_kind(
    id: &Spanned<String>,
    raw: &mut RawStep,
    thread: &ThreadRef,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Kinded {
    let kind = kind_of(id, raw, cx, out);
    let (keys, why) = not_for(&kind);
    for key in keys {
        if let Some(span) = key_span(cx, id, key) {
            out.push(
                Diagnostic::new(
                    span,
                    format!("`{key}` does not apply to a {} step", kind.name()),
                )
                .with_help(format!("{why}; remove `{key}` from step `{}`", id.value)),
            );
        }
    }
    let uses_shell = kind.script().is_some()
        || raw
            .looping
            .as_ref()
            .is_some_and(|l| l.value.until_run.is_some());
    let shell = lower_shell(raw.shell.take(), uses_shell, out);
    let env = lower_env(id, raw.env.take(), uses_shell, out);
    let looping = raw
        .looping
        .take()
        .and_then(|l| lower_loop(id, l, &kind, thread, raw, cx, out));
    let prompt = raw
        .prompt
        .take()
        .unwrap_or_else(|| Spanned::new(String::new(), Span::at(id.span.start)));
    Kinded {
        prompt,
        kind,
        env,
        shell,
        looping,
    }
}

/// The kind: exactly one of `prompt` (or `prompt_file`), `run` and `gate` (the schema
/// reports none at all; a step with `uses` has none of them, see `compose`).
fn kind_of(
    id: &Spanned<String>,
    raw: &mut RawStep,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> StepKind {
    let mut given: Vec<(&str, Span)> = Vec::new();
    given.extend(raw.prompt.as_ref().map(|p| ("prompt", p.span)));
    if raw.prompt.is_none() {
        given.extend(raw.prompt_file.as_ref().map(|p| ("prompt_file", p.span)));
    }
    given.extend(raw.run.as_ref().map(|r| ("run", r.span)));
    given.extend(raw.gate.as_ref().map(|g| ("gate", g.span)));
    if given.len() > 1 {
        out.push(
            Diagnostic::new(
                given[1].1,
                format!(
                    "step `{}` sets both `{}` and `{}`",
                    id.value, given[0].0, given[1].0
                ),
            )
            .with_help(
                "a step is one thing: a turn of the agent (`prompt` or `prompt_file`), a \
                 script (`run`) or a person's answer (`gate`)",
            ),
        );
    }
    let output = raw.output.take();
    if let Some(run) = raw.run.take() {
        not_a_template("run", &run, cx, out);
        let format = match (&output, &raw.output_schema) {
            (Some(o), _) => o.value,
            (None, Some(_)) => OutputFormat::Json,
            (None, None) => OutputFormat::Text,
        };
        if let (Some(o), Some(schema)) = (&output, &raw.output_schema) {
            if o.value != OutputFormat::Json {
                out.push(
                    Diagnostic::new(
                        schema.span,
                        format!(
                            "`output_schema` checks json, but step `{}` has `output: {}`",
                            id.value,
                            o.value.as_str()
                        ),
                    )
                    .with_help("write `output: json` (or remove `output_schema`)"),
                );
            }
        }
        if raw.prompt.is_none() {
            return StepKind::Script(Script {
                run,
                output: format,
            });
        }
    }
    if let Some(o) = &output {
        out.push(
            Diagnostic::new(o.span, "`output` only applies to a script step")
                .with_help("a turn's output is its answer (`output_schema` makes it json)"),
        );
    }
    match (raw.prompt.is_some(), raw.gate.take()) {
        (false, Some(question)) => StepKind::Gate(Gate { question }),
        _ => StepKind::Turn,
    }
}

/// `run` and `until_run` are scripts, never templates: a `{{` (or `{%`) in one is an error.
fn not_a_template(key: &str, script: &Spanned<String>, cx: &Context<'_>, out: &mut Diagnostics) {
    let text = script.value.as_str();
    let Some(at) = ["{{", "{%"].iter().filter_map(|m| text.find(m)).min() else {
        return;
    };
    let span = locate(cx.source, script.span, text, at..at + 2);
    out.push(
        Diagnostic::new(
            Span::new(span.start, span.start + 2),
            format!("`{key}` is not a template: weft never puts values into a script"),
        )
        .with_help(
            "pass values as environment variables: `env: { NAME: \"{{ inputs.x }}\" }`, and \
             read \"$NAME\" in the script, so no input or model output is ever run as shell",
        ),
    );
}

fn lower_shell(raw: Option<Spanned<Value>>, applies: bool, out: &mut Diagnostics) -> Shell {
    let Some(raw) = raw else {
        return Shell::Bash;
    };
    if !applies {
        out.push(
            Diagnostic::new(
                raw.span,
                "`shell` only applies to a script step or `until_run`",
            )
            .with_help("remove `shell`"),
        );
    }
    match &raw.value {
        Value::String(name) => Shell::named(name),
        Value::Array(items) => Shell::Command(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        _ => Shell::Bash,
    }
}

fn lower_env(
    id: &Spanned<String>,
    raw: Option<Spanned<super::spanned::Entries<Spanned<String>>>>,
    applies: bool,
    out: &mut Diagnostics,
) -> Vec<(Spanned<String>, Spanned<String>)> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    if !applies {
        out.push(
            Diagnostic::new(
                raw.span,
                "`env` only applies to a script step or a loop's `until_run`",
            )
            .with_help(format!(
                "a turn reads values in its prompt; remove `env` from step `{}`",
                id.value
            )),
        );
    }
    raw.value.0
}

fn lower_loop(
    id: &Spanned<String>,
    raw: Spanned<RawLoop>,
    kind: &StepKind,
    thread: &ThreadRef,
    step: &RawStep,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Option<Loop> {
    let span = raw.span;
    let RawLoop {
        max_iterations,
        until,
        until_run,
        thread: loop_thread,
        on_max,
    } = raw.value;
    if matches!(kind, StepKind::Gate(_)) {
        out.push(
            Diagnostic::new(span, "a gate cannot `loop`")
                .with_help("a loop repeats a turn or a script; a person answers a gate once"),
        );
        return None;
    }
    if let Some(t) = &loop_thread {
        let problem = match (kind, t.value, thread) {
            (StepKind::Script(_), _, _) => Some("a script has no thread: remove `loop.thread`"),
            (_, LoopThread::Fresh, ThreadRef::Named(_) | ThreadRef::Resume(_)) => Some(
                "`loop.thread: fresh` needs a new thread per iteration, but the step \
                 continues one thread",
            ),
            _ => None,
        };
        if let Some(problem) = problem {
            out.error(t.span, problem);
        }
    }
    if step
        .as_name
        .as_ref()
        .is_some_and(|a| a.value == "iteration")
    {
        if let Some(a) = &step.as_name {
            out.push(
                Diagnostic::new(a.span, "`as: iteration` would hide the loop's `iteration`")
                    .with_help("choose another name for the `for_each` element"),
            );
        }
    }
    let until = match (until, until_run) {
        (Some(e), None) => Until::Expression(e),
        (None, Some(r)) => {
            not_a_template("until_run", &r, cx, out);
            Until::Run(r)
        }
        (Some(e), Some(r)) => {
            out.push(
                Diagnostic::new(r.span, "a `loop` sets both `until` and `until_run`").with_help(
                    "end the loop by an expression (`until`) or a command (`until_run`)",
                ),
            );
            Until::Expression(e)
        }
        (None, None) => {
            out.push(
                Diagnostic::new(
                    key_span(cx, id, "loop").unwrap_or(span),
                    format!("the `loop` of step `{}` never ends", id.value),
                )
                .with_help(
                    "add `until: <expression over output>` or `until_run: <command whose exit \
                     0 ends the loop>`",
                ),
            );
            return None;
        }
    };
    Some(Loop {
        span,
        max_iterations: max_iterations.map_or(1, |m| m.value.max(1)),
        until,
        thread: loop_thread.map(|t| t.value).unwrap_or_default(),
        on_max: on_max.unwrap_or(OnMax::Fail),
    })
}

/// The span of key `key` of step `id`, if it is written.
fn key_span(cx: &Context<'_>, id: &Spanned<String>, key: &str) -> Option<Span> {
    let step = cx.root.walk(&[
        PathSegment::Key("steps".into()),
        PathSegment::Key(id.value.clone()),
    ]);
    step.entry(key).map(|(k, _)| k.span)
}
