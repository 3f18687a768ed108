//! Raw file model to [`Workflow`]: parse durations, load and check output schemas, resolve
//! `thread`/`fork`/`resume`, check input defaults, read prompt files and the workflows
//! steps call. Problems become diagnostics, not panics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::agent_options::{effort_of, lower_config, model_of};
use super::calls::{Calls, lower_with};
use super::compose::{Call, check_step_kind, lower_pools, lower_prompt_file};
use super::diagnostic::{Diagnostic, Diagnostics};
use super::lower_kind::lower_kind;
use super::model::{Input, Options, Output, Step, ThreadDef, ThreadRef, Workflow};
use super::node::Node;
use super::schema_file::load_schema;

use super::cache_options::CacheOptions;
use super::raw::{InputType, RawInput, RawOptions, RawStep, RawWorkflow};
use super::source::SourceFile;
use super::spanned::Spanned;
use super::tree_options::TreeOptions;
use crate::vocab::parse_duration;

/// What lowering needs besides the raw model.
pub struct Context<'a> {
    /// The workflow file.
    pub source: &'a Arc<SourceFile>,
    /// The parsed tree, to locate problems inside inline values.
    pub root: &'a Node,
    /// Where relative paths start.
    pub base_dir: &'a Path,
    /// The chain of workflow files being loaded, for `uses`.
    pub calls: &'a Calls,
}

/// Lower `raw`; diagnostics go to `out`.
pub fn lower(raw: RawWorkflow, cx: &Context<'_>, out: &mut Diagnostics) -> Workflow {
    let name = raw.name.map(|n| n.value).unwrap_or_else(|| {
        cx.source
            .path
            .file_stem()
            .map_or_else(|| "workflow".into(), |s| s.to_string_lossy().into_owned())
    });
    let inputs = raw
        .inputs
        .0
        .into_iter()
        .map(|(name, input)| lower_input(name, input, out))
        .collect();
    let defaults = lower_options(raw.defaults.unwrap_or_default(), &["defaults"], cx, out).0;
    let threads = raw
        .threads
        .0
        .into_iter()
        .map(|(name, options)| {
            let at = ["threads", name.value.as_str()];
            let (options, developer_instructions) = lower_options(options, &at, cx, out);
            ThreadDef {
                name,
                options,
                developer_instructions,
            }
        })
        .collect();
    let steps = raw
        .steps
        .0
        .into_iter()
        .map(|(id, step)| lower_step(id, step, cx, out))
        .collect();
    let (env, secret_env) = super::env_entry::lower(raw.env, out);
    let outputs = raw
        .outputs
        .0
        .into_iter()
        .map(|(name, template)| Output { name, template })
        .collect();
    Workflow {
        name,
        description: raw.description,
        inputs,
        defaults,
        threads,
        env,
        steps,
        outputs,
        max_tokens: raw.max_tokens.map(|m| m.value),
        path: cx.source.path.clone(),
        base_dir: cx.base_dir.to_path_buf(),
        source: Arc::clone(cx.source),
        secret_env,
        pools: lower_pools(raw.pools),
        templates: Default::default(),
    }
}

fn lower_input(name: Spanned<String>, raw: RawInput, out: &mut Diagnostics) -> Input {
    let ty = raw.ty.value;
    let values = raw
        .values
        .as_ref()
        .map(|v| v.value.clone())
        .unwrap_or_default();
    match (&raw.values, ty) {
        (None, InputType::Enum) => out.push(
            Diagnostic::new(
                raw.ty.span,
                format!("enum input `{}` has no `values`", name.value),
            )
            .with_help("list the allowed values: `values: [a, b]`"),
        ),
        (Some(v), t) if t != InputType::Enum => out.error(
            v.span,
            format!(
                "`values` only applies to `type: enum`, and input `{}` is {}",
                name.value,
                t.as_str()
            ),
        ),
        _ => {}
    }
    let default = raw.default.as_ref().map(|default| {
        if !ty.accepts(&default.value, &values) && (ty != InputType::Enum || !values.is_empty()) {
            let expected = if ty == InputType::Enum {
                let list: Vec<String> = values.iter().map(|v| format!("`{}`", plain(v))).collect();
                format!("one of {}", list.join(", "))
            } else {
                format!("a value of type `{}`", ty.as_str())
            };
            out.error(
                default.span,
                format!(
                    "default of input `{}` is `{}`, not {expected}",
                    name.value,
                    plain(&default.value)
                ),
            );
        }
        default.value.clone()
    });
    let secret = super::secrets::check_declaration(&name, ty, &raw, out);
    Input {
        secret,
        required: raw.required.unwrap_or(default.is_none()),
        name,
        ty,
        description: raw.description,
        default,
        values,
    }
}

fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

fn lower_timeout(
    timeout: Option<Spanned<String>>,
    out: &mut Diagnostics,
) -> Option<std::time::Duration> {
    let timeout = timeout?;
    match parse_duration(&timeout.value) {
        Some(d) if !d.is_zero() => Some(d),
        Some(_) => {
            out.error(timeout.span, "`timeout` must be longer than zero");
            None
        }
        None => {
            out.push(
                Diagnostic::new(
                    timeout.span,
                    format!("invalid duration `{}`", timeout.value),
                )
                .with_help(
                    "write a number and a unit (`ms`, `s`, `m`, `h`), e.g. `90s`, `10m`, `1h30m`",
                ),
            );
            None
        }
    }
}

fn lower_options(
    raw: RawOptions,
    at: &[&str],
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> (Options, Option<String>) {
    let (model, model_template) = model_of(raw.model);
    let (effort, effort_template) = effort_of(raw.effort, out);
    let options = Options {
        model,
        effort,
        approval: raw.approval,
        sandbox: raw.sandbox,
        timeout: lower_timeout(raw.timeout, out),
        retries: raw.retries,
        cwd: raw.cwd.map(PathBuf::from),
        approvals: raw.approvals,
        max_tokens: raw.max_tokens,
        tree: TreeOptions {
            isolation: raw.isolation,
            writes: raw.writes,
        },
        model_template,
        effort_template,
        developer_instructions: raw.developer_instructions.clone(),
        config: raw.config.and_then(|c| lower_config(c, at, cx, out)),
        network: raw.network,
        environment: raw.environment,
        cache: CacheOptions {
            cache: raw.cache,
            reads: raw.reads,
        },
    };
    (options, raw.developer_instructions.map(|d| d.value))
}

fn lower_step(
    id: Spanned<String>,
    mut raw: RawStep,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Step {
    check_step_kind(&id, &raw, cx, out);
    check_fan_out_keys(&id, &raw, out);
    let thread = lower_thread(
        &id,
        raw.thread.take(),
        raw.fork.take(),
        raw.resume.take(),
        out,
    );
    if matches!(thread, ThreadRef::Named(_)) {
        check_thread_settings(&raw, out);
    }
    let kinded = lower_kind(&id, &mut raw, &thread, cx, out);
    let prompt_file =
        (raw.prompt_file.take()).and_then(|path| lower_prompt_file(&id.value, path, cx, out));
    let prompt = match &prompt_file {
        Some(file) => {
            let whole = super::source::Span::new(0, file.source.text.len());
            Spanned::new(file.source.text.clone(), whole)
        }
        None => kinded.prompt,
    };
    let call = raw.uses.take().map(|uses| Call {
        workflow: cx.calls.load(&uses, cx, out),
        uses,
        with: lower_with(raw.with.take()),
    });
    let output_schema_span = raw.output_schema.as_ref().map(|s| s.span);
    let output_schema =
        (raw.output_schema.take()).and_then(|schema| load_schema(&id.value, schema, cx, out));
    let options = step_options(&id.value, &mut raw, cx, out);
    Step {
        id,
        description: raw.description,
        prompt,
        needs: raw.needs,
        thread,
        output_schema,
        output_schema_span,
        options,
        if_expr: raw.if_expr,
        for_each: raw.for_each,
        as_name: raw.as_name.map_or_else(|| "item".into(), |a| a.value),
        max_parallel: raw.max_parallel.map(|m| m.value),
        continue_on_error: raw.continue_on_error.unwrap_or(false),
        fail_if: raw.fail_if,
        kind: kinded.kind,
        env: kinded.env,
        shell: kinded.shell,
        looping: kinded.looping,
        on_conflict: raw.on_conflict,
        prompt_file,
        call,
        join: raw.join.as_ref().map(|j| j.value).unwrap_or_default(),
        join_span: raw.join.map(|j| j.span),
        pool: raw.pool,
    }
}

/// The policies and agent settings a step writes itself (taken out of `raw`).
fn step_options(id: &str, raw: &mut RawStep, cx: &Context<'_>, out: &mut Diagnostics) -> Options {
    let (model, model_template) = model_of(raw.model.take());
    let (effort, effort_template) = effort_of(raw.effort.take(), out);
    let at = ["steps", id];
    Options {
        model,
        effort,
        approval: raw.approval,
        sandbox: raw.sandbox,
        timeout: lower_timeout(raw.timeout.take(), out),
        retries: raw.retries,
        cwd: raw.cwd.take().map(PathBuf::from),
        approvals: raw.approvals.take(),
        max_tokens: raw.max_tokens,
        model_template,
        effort_template,
        developer_instructions: raw.developer_instructions.take(),
        config: (raw.config.take()).and_then(|c| lower_config(c, &at, cx, out)),
        network: raw.network.take(),
        environment: raw.environment.take(),
        tree: TreeOptions {
            isolation: raw.isolation.take(),
            writes: raw.writes.take(),
        },
        cache: CacheOptions {
            cache: raw.cache.take(),
            reads: raw.reads.take(),
        },
    }
}

/// `as` and `max_parallel` only go with `for_each`.
fn check_fan_out_keys(id: &Spanned<String>, raw: &RawStep, out: &mut Diagnostics) {
    if raw.for_each.is_some() {
        return;
    }
    for (span, key) in [
        (raw.as_name.as_ref().map(|a| a.span), "as"),
        (raw.max_parallel.as_ref().map(|m| m.span), "max_parallel"),
    ] {
        if let Some(span) = span {
            out.push(
                Diagnostic::new(
                    span,
                    format!("`{key}` only applies to a step with `for_each`"),
                )
                .with_help(format!(
                    "add `for_each: <expression>` to step `{}` or remove `{key}`",
                    id.value
                )),
            );
        }
    }
}

/// A step on a named thread takes the thread's start: its `developer_instructions` and
/// `config` go on the thread.
fn check_thread_settings(raw: &RawStep, out: &mut Diagnostics) {
    for (key, span) in [
        (
            "developer_instructions",
            raw.developer_instructions.as_ref().map(|d| d.span),
        ),
        ("config", raw.config.as_ref().map(|c| c.span)),
    ] {
        if let Some(span) = span {
            out.push(
                Diagnostic::new(span, format!("`{key}` of a step on a named thread")).with_help(
                    format!("a thread's `{key}` is fixed when it starts: set it on the thread, under `threads:`"),
                ),
            );
        }
    }
}

fn lower_thread(
    id: &Spanned<String>,
    thread: Option<Spanned<String>>,
    fork: Option<Spanned<String>>,
    resume: Option<Spanned<String>>,
    out: &mut Diagnostics,
) -> ThreadRef {
    let mut given: Vec<(&str, Spanned<String>)> = Vec::new();
    given.extend(thread.map(|t| ("thread", t)));
    given.extend(fork.map(|t| ("fork", t)));
    given.extend(resume.map(|t| ("resume", t)));
    if given.len() > 1 {
        out.push(
            Diagnostic::new(
                given[1].1.span,
                format!(
                    "step `{}` sets both `{}` and `{}`",
                    id.value, given[0].0, given[1].0
                ),
            )
            .with_help("a step runs on one thread: keep one of `thread`, `fork` and `resume`"),
        );
    }
    match given.into_iter().next() {
        None => ThreadRef::Fresh,
        Some(("thread", t)) if t.value == "fresh" => ThreadRef::Fresh,
        Some(("thread", t)) => ThreadRef::Named(t),
        Some(("fork", t)) => ThreadRef::Fork(t),
        Some((_, t)) => ThreadRef::Resume(t),
    }
}

pub(super) fn lower_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string().to_lowercase(),
    }
}
