//! Raw file model to [`Workflow`]: parse durations, load and check output schemas, resolve
//! `thread`/`fork`/`resume`, check input defaults. Problems become diagnostics, not panics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::model::{Input, Options, Output, Step, ThreadDef, ThreadRef, Workflow};
use super::node::{Node, PathSegment};
use super::parse;
use super::raw::{InputType, RawInput, RawOptions, RawStep, RawWorkflow};
use super::source::{SourceFile, Span};
use super::spanned::Spanned;
use crate::vocab::parse_duration;

/// What lowering needs besides the raw model.
pub struct Context<'a> {
    /// The workflow file.
    pub source: &'a Arc<SourceFile>,
    /// The parsed tree, to locate problems inside inline values.
    pub root: &'a Node,
    /// Where relative paths start.
    pub base_dir: &'a Path,
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
    let defaults = lower_options(raw.defaults.unwrap_or_default(), out).0;
    let threads = raw
        .threads
        .0
        .into_iter()
        .map(|(name, options)| {
            let (options, developer_instructions) = lower_options(options, out);
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
        env: raw.env,
        steps,
        outputs,
        max_tokens: raw.max_tokens.map(|m| m.value),
        path: cx.source.path.clone(),
        base_dir: cx.base_dir.to_path_buf(),
        source: Arc::clone(cx.source),
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
    let default = raw.default.map(|default| {
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
        default.value
    });
    Input {
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

fn lower_options(raw: RawOptions, out: &mut Diagnostics) -> (Options, Option<String>) {
    let options = Options {
        model: raw.model.map(|m| m.value),
        effort: raw.effort,
        approval: raw.approval,
        sandbox: raw.sandbox,
        timeout: lower_timeout(raw.timeout, out),
        retries: raw.retries,
        cwd: raw.cwd.map(PathBuf::from),
        approvals: raw.approvals,
        max_tokens: raw.max_tokens,
        environment: raw.environment,
    };
    (options, raw.developer_instructions)
}

fn lower_step(id: Spanned<String>, raw: RawStep, cx: &Context<'_>, out: &mut Diagnostics) -> Step {
    let thread = lower_thread(&id, raw.thread, raw.fork, raw.resume, out);
    let output_schema_span = raw.output_schema.as_ref().map(|s| s.span);
    let output_schema = raw
        .output_schema
        .and_then(|schema| load_schema(&id.value, schema, cx, out));
    if raw.for_each.is_none() {
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
    let options = Options {
        model: raw.model.map(|m| m.value),
        effort: raw.effort,
        approval: raw.approval,
        sandbox: raw.sandbox,
        timeout: lower_timeout(raw.timeout, out),
        retries: raw.retries,
        cwd: raw.cwd.map(PathBuf::from),
        approvals: raw.approvals,
        max_tokens: raw.max_tokens,
        environment: raw.environment,
    };
    Step {
        id,
        description: raw.description,
        prompt: raw.prompt,
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

fn load_schema(
    step: &str,
    schema: Spanned<Value>,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Option<Value> {
    let (value, inline) = match &schema.value {
        Value::String(path) => (read_schema_file(path, schema.span, cx, out)?, false),
        other => (other.clone(), true),
    };
    if let Err(error) = jsonschema::validator_for(&value) {
        let mut span = schema.span;
        if inline {
            let mut path = vec![
                PathSegment::Key("steps".into()),
                PathSegment::Key(step.into()),
                PathSegment::Key("output_schema".into()),
            ];
            path.extend(error.instance_path().iter().map(|s| match s {
                jsonschema::paths::LocationSegment::Property(p) => PathSegment::Key(p.to_string()),
                jsonschema::paths::LocationSegment::Index(i) => PathSegment::Index(i),
            }));
            span = cx.root.walk(&path).span;
        }
        out.error(
            span,
            format!("`output_schema` of step `{step}` is not a valid json schema: {error}"),
        );
        return None;
    }
    Some(value)
}

fn read_schema_file(
    path: &str,
    span: Span,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Option<Value> {
    let full = cx.base_dir.join(path);
    let text = match std::fs::read_to_string(&full) {
        Ok(text) => text,
        Err(error) => {
            out.push(
                Diagnostic::new(
                    span,
                    format!("cannot read schema file `{path}`: {}", lower_io(&error)),
                )
                .with_help(format!(
                    "paths are relative to the workflow file; looked for `{}`",
                    full.display()
                )),
            );
            return None;
        }
    };
    let is_yaml = matches!(
        full.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if is_yaml {
        let file = SourceFile::new(&full, text);
        return match parse::parse(&file) {
            Ok(parsed) => Some(parsed.root.to_json()),
            Err(d) => {
                let at = file.position(d.span.start);
                out.error(
                    span,
                    format!(
                        "schema file `{path}` is not valid yaml (line {}, column {}): {}",
                        at.line, at.column, d.message
                    ),
                );
                None
            }
        };
    }
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            out.error(
                span,
                format!("schema file `{path}` is not valid json: {error}"),
            );
            None
        }
    }
}

fn lower_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string().to_lowercase(),
    }
}
