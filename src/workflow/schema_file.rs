//! A step's `output_schema`: inline, or a JSON (or YAML) file next to the workflow; read
//! and compiled when the workflow loads, its problems located at the schema.

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::lower::{Context, lower_io};
use super::node::PathSegment;
use super::parse;
use super::source::{SourceFile, Span};
use super::spanned::Spanned;

pub(super) fn load_schema(
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
