//! Rendering a template (or evaluating an expression) once, as the engine would: a
//! failure comes back as a [`Finding`] located in the template's text.

use minijinja::value::Serde;
use minijinja::{Environment, Value as JinjaValue};
use serde_json::Value;

use super::walk::Finding;
use crate::workflow::Severity;
use crate::workflow::refs::Kind;

/// Render `text` (a template) or evaluate it (an expression) against `context`; the
/// rendered text, or the expression's value, as JSON.
pub fn render(
    env: &Environment<'static>,
    text: &str,
    kind: Kind,
    context: &JinjaValue,
) -> Result<Value, Finding> {
    let result = match kind {
        Kind::Template => env.render_str(text, context.clone()).map(Value::String),
        Kind::Expression => env
            .compile_expression(text)
            .and_then(|e| e.eval(context.clone()))
            .and_then(|v| {
                serde_json::to_value(&v).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
                })
            }),
    };
    result.map_err(|error| finding(&error, text))
}

/// The error an error of an `{% include %}` wraps (the one in the included template).
fn innermost(error: &minijinja::Error) -> &minijinja::Error {
    let mut current = error;
    while let Some(inner) =
        std::error::Error::source(current).and_then(|e| e.downcast_ref::<minijinja::Error>())
    {
        current = inner;
    }
    current
}

/// The JSON `context` as a template context.
pub fn jinja(context: &Value) -> JinjaValue {
    JinjaValue::from(Serde(context))
}

/// A render error as a finding: its range in `text` (or in the included template it
/// happened in) and its detail.
pub fn finding(error: &minijinja::Error, text: &str) -> Finding {
    let error = innermost(error);
    let template = error
        .name()
        .filter(|n| !matches!(*n, "<string>" | "<expression>" | "template"))
        .map(str::to_string);
    if let (Some(name), Some(range)) = (&template, error.range()) {
        let detail = error
            .detail()
            .map_or_else(|| error.kind().to_string(), str::to_string);
        return Finding {
            range,
            severity: Severity::Error,
            message: detail,
            help: None,
            template: Some(name.clone()),
        };
    }
    let range = error
        .range()
        .filter(|r| r.end <= text.len())
        .unwrap_or(0..text.len().min(1));
    let detail = error
        .detail()
        .map_or_else(|| error.kind().to_string(), str::to_string);
    Finding {
        range,
        severity: Severity::Error,
        message: detail,
        help: None,
        template: None,
    }
}
