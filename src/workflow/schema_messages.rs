//! The words of schema violations: a bad enum value (with a did-you-mean), a value of
//! the wrong type, a bad duration, a name that is not an identifier.

use jsonschema::ValidationError;
use jsonschema::error::TypeKind;
use serde_json::Value;

use super::diagnostic::suggest;
use super::node::{Node, PathSegment};
use super::schema::field_name;
use super::source::Span;

pub(super) fn bad_enum(
    node: &Node,
    path: &[PathSegment],
    options: &Value,
) -> (String, Option<String>) {
    let field = field_name(path).unwrap_or_default();
    let choices: Vec<String> = options
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let value = node.to_json();
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string);
    if text == "on-failure" {
        return (
            format!("invalid {field} `on-failure`; did you mean `on-request`?"),
            Some("`on-failure` was removed from the app-server protocol: use `on-request` (the agent asks when it needs to) or `never`".into()),
        );
    }
    let hint = suggest(&text, choices.iter().map(String::as_str));
    let list: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    (
        format!("invalid {field} `{text}`{hint}"),
        Some(format!("expected one of {}", list.join(", "))),
    )
}

fn is_duration(path: &[PathSegment]) -> bool {
    matches!(path.last(), Some(PathSegment::Key(k)) if k == "timeout")
}

const DURATION_HELP: &str =
    "write a number and a unit (`ms`, `s`, `m`, `h`), e.g. `90s`, `10m`, `1h30m`";

pub(super) fn bad_type(
    node: &Node,
    path: &[PathSegment],
    kind: &TypeKind,
) -> (String, Option<String>) {
    if is_duration(path) {
        let text = node.to_json().to_string();
        return (
            format!("invalid duration `{text}`"),
            Some(DURATION_HELP.into()),
        );
    }
    let expected = match kind {
        TypeKind::Single(t) => article(&t.to_string()),
        TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| article(&t.to_string())).collect();
            names.join(" or ")
        }
    };
    let field = match path.last() {
        Some(PathSegment::Key(k)) => format!(" for `{k}`"),
        Some(PathSegment::Index(_)) => format!(" in `{}`", field_name(path).unwrap_or_default()),
        None => " at the top level".into(),
    };
    (
        format!("expected {expected}{field}, found {}", node.describe()),
        None,
    )
}

fn article(json_type: &str) -> String {
    match json_type {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        "null" => "null".into(),
        other => format!("a {other}"),
    }
}

pub(super) fn bad_pattern(
    node: &Node,
    path: &[PathSegment],
    error: &ValidationError<'_>,
) -> (Span, String, Option<String>) {
    let text = error.instance().as_str().unwrap_or_default().to_string();
    if is_duration(path) {
        return (
            node.span,
            format!("invalid duration `{text}`"),
            Some(DURATION_HELP.into()),
        );
    }
    let (message, help) = bad_name(&text, &path[..path.len().saturating_sub(1)]);
    (node.span, message, help)
}

pub(super) fn bad_name(name: &str, parent: &[PathSegment]) -> (String, Option<String>) {
    let what = match parent.first() {
        Some(PathSegment::Key(k)) if k == "steps" && parent.len() == 1 => "step id",
        Some(PathSegment::Key(k)) if k == "threads" && parent.len() == 1 => "thread name",
        Some(PathSegment::Key(k)) if k == "inputs" && parent.len() == 1 => "input name",
        Some(PathSegment::Key(k)) if k == "outputs" && parent.len() == 1 => "output name",
        Some(PathSegment::Key(k)) if k == "env" => "environment variable name",
        _ => "name",
    };
    if name == "fresh" {
        return (
            format!("`fresh` is reserved and cannot be a {what}"),
            Some("`thread: fresh` means a new thread for every turn; choose another name".into()),
        );
    }
    let fixed: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    (
        format!("invalid {what} `{name}`"),
        Some(format!(
            "names start with a letter or `_` and hold only letters, digits and `_` (templates read them as `a.b`), e.g. `{fixed}`"
        )),
    )
}

pub(super) fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
