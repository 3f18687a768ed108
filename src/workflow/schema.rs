//! Checks a parsed file against `schemas/workflow.schema.json` (the same schema `weft schema`
//! prints and editors use) and turns each violation into a located, readable diagnostic.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::diagnostic::{Diagnostic, suggest};
use super::node::{Node, NodeKind, PathSegment};
use super::source::Span;

/// The workflow file's JSON Schema, as shipped in `schemas/`.
pub const WORKFLOW_SCHEMA: &str = include_str!("../../schemas/workflow.schema.json");

/// Hints for keys people write from habit, checked before spelling suggestions.
const KEY_HINTS: &[(&str, &str)] = &[
    ("depends_on", "needs"),
    ("depends", "needs"),
    ("after", "needs"),
    ("when", "if"),
    ("foreach", "for_each"),
    ("matrix", "for_each"),
    ("schema", "output_schema"),
    ("approval_policy", "approval"),
    ("sandbox_mode", "sandbox"),
    ("reasoning_effort", "effort"),
    ("parallel", "max_parallel"),
    ("shell_snapshot", "environment"),
];

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(WORKFLOW_SCHEMA).unwrap_or(Value::Bool(true)))
}

fn validator() -> Option<&'static Validator> {
    static VALIDATOR: OnceLock<Option<Validator>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::draft202012::new(schema()).ok())
        .as_ref()
}

/// A schema violation: the diagnostic, and the path to drop so the rest can still be checked.
pub struct Violation {
    /// What to report (`None` when another diagnostic already says it).
    pub diagnostic: Option<Diagnostic>,
    /// The part of the tree that is wrong.
    pub prune: Vec<PathSegment>,
    /// A missing required key and a stand-in value, so the rest can still be checked.
    pub fill: Option<(Vec<PathSegment>, String, Node)>,
}

/// Every violation of the workflow schema in `root`.
pub fn check(root: &Node) -> Vec<Violation> {
    let Some(validator) = validator() else {
        return vec![Violation {
            diagnostic: Some(Diagnostic::new(
                root.span,
                "weft's workflow schema does not compile",
            )),
            prune: Vec::new(),
            fill: None,
        }];
    };
    let instance = root.to_json();
    let mut out = Vec::new();
    for error in validator.iter_errors(&instance) {
        out.extend(describe(root, &error));
    }
    drop_missing_when_misspelled(&mut out);
    out
}

/// "step `a` has no `prompt`" says nothing new next to "unknown key `promt`; did you mean
/// `prompt`?" in the same mapping: keep the stand-in value, drop the message.
fn drop_missing_when_misspelled(violations: &mut [Violation]) {
    let misspelled: Vec<(Vec<PathSegment>, String)> = violations
        .iter()
        .filter_map(|v| {
            let (_, parent) = v.prune.split_last()?;
            let wanted = v
                .diagnostic
                .as_ref()?
                .message
                .split("did you mean `")
                .nth(1)?;
            Some((parent.to_vec(), wanted.trim_end_matches("`?").to_string()))
        })
        .collect();
    for v in violations.iter_mut() {
        if let Some((path, key, _)) = &v.fill {
            if misspelled.iter().any(|(p, k)| p == path && k == key) {
                v.diagnostic = None;
            }
        }
    }
}

fn segments(error: &ValidationError<'_>) -> Vec<PathSegment> {
    error
        .instance_path()
        .iter()
        .map(|s| match s {
            LocationSegment::Property(p) => PathSegment::Key(p.to_string()),
            LocationSegment::Index(i) => PathSegment::Index(i),
        })
        .collect()
}

/// The name a message calls the value at `path`: its key, or its list's key.
fn field_name(path: &[PathSegment]) -> Option<String> {
    path.iter().rev().find_map(|s| match s {
        PathSegment::Key(k) => Some(k.clone()),
        PathSegment::Index(_) => None,
    })
}

/// The step id when `path` is inside `steps.<id>`.
fn step_of(path: &[PathSegment]) -> Option<&str> {
    match path {
        [PathSegment::Key(top), PathSegment::Key(id), ..] if top == "steps" => Some(id),
        _ => None,
    }
}

fn describe(root: &Node, error: &ValidationError<'_>) -> Vec<Violation> {
    let path = segments(error);
    let node = root.walk(&path);
    let one = |span: Span, message: String, help: Option<String>| {
        let mut diagnostic = Diagnostic::new(span, message);
        diagnostic.help = help;
        vec![Violation {
            diagnostic: Some(diagnostic),
            prune: path.clone(),
            fill: None,
        }]
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unknown_keys(node, &path, unexpected, error)
        }
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            let (span, message) = match step_of(&path) {
                Some(id) if path.len() == 2 && property == "prompt" => (
                    key_span(root, &path).unwrap_or(node.span),
                    format!("step `{id}` has no `prompt`"),
                ),
                _ => (
                    key_span(root, &path).unwrap_or(Span::new(node.span.start, node.span.start)),
                    format!("missing key `{property}`"),
                ),
            };
            let mut violations = one(span, message, None);
            violations[0].prune.clear();
            violations[0].fill =
                stand_in(property, node.span).map(|n| (path.clone(), property.to_string(), n));
            violations
        }
        ValidationErrorKind::Enum { options } => {
            let (message, help) = bad_enum(node, &path, options);
            one(node.span, message, help)
        }
        ValidationErrorKind::Type { kind } => {
            let (message, help) = bad_type(node, &path, kind);
            one(node.span, message, help)
        }
        ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Not { .. } => {
            let (span, message, help) = bad_pattern(node, &path, error);
            one(span, message, help)
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let key = inner.instance().as_str().unwrap_or_default().to_string();
            let mut key_path = path.clone();
            key_path.push(PathSegment::Key(key.clone()));
            let span = key_span(root, &key_path).unwrap_or(node.span);
            let (message, help) = bad_name(&key, &path);
            let mut violations = one(span, message, help);
            violations[0].prune = key_path;
            violations
        }
        ValidationErrorKind::Minimum { limit } => one(
            node.span,
            format!(
                "`{}` must be at least {limit}, found {}",
                field_name(&path).unwrap_or_default(),
                error.instance()
            ),
            None,
        ),
        ValidationErrorKind::MinLength { .. } => one(
            node.span,
            format!(
                "`{}` must not be empty",
                field_name(&path).unwrap_or_default()
            ),
            None,
        ),
        ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::MinItems { .. } => one(
            key_span(root, &path).unwrap_or(node.span),
            format!(
                "`{}` must not be empty",
                field_name(&path).unwrap_or_default()
            ),
            None,
        ),
        ValidationErrorKind::UniqueItems => one(
            node.span,
            format!(
                "`{}` lists a value twice",
                field_name(&path).unwrap_or_default()
            ),
            None,
        ),
        _ => {
            let text = error.to_string();
            one(node.span, lowercase_first(&text), None)
        }
    }
}

/// A harmless value for a missing required key.
fn stand_in(property: &str, span: Span) -> Option<Node> {
    let kind = match property {
        "prompt" => NodeKind::Str(String::new()),
        "type" => NodeKind::Str("string".into()),
        "steps" => NodeKind::Map(Vec::new()),
        _ => return None,
    };
    Some(Node {
        span: Span::at(span.start),
        kind,
    })
}

fn key_span(root: &Node, path: &[PathSegment]) -> Option<Span> {
    let (last, parent) = path.split_last()?;
    match last {
        PathSegment::Key(k) => root.walk(parent).entry(k).map(|(key, _)| key.span),
        PathSegment::Index(_) => None,
    }
}

fn unknown_keys(
    node: &Node,
    path: &[PathSegment],
    unexpected: &[String],
    error: &ValidationError<'_>,
) -> Vec<Violation> {
    let allowed = allowed_keys(error);
    unexpected
        .iter()
        .map(|key| {
            let span = node.entry(key).map_or(node.span, |(k, _)| k.span);
            let hint = KEY_HINTS
                .iter()
                .find(|(wrong, _)| wrong == key)
                .map(|(_, right)| format!("; did you mean `{right}`?"))
                .unwrap_or_else(|| suggest(key, allowed.iter().map(String::as_str)));
            let help = (hint.is_empty() && !allowed.is_empty()).then(|| {
                let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
                format!("expected one of {}", list.join(", "))
            });
            let mut prune = path.to_vec();
            prune.push(PathSegment::Key(key.clone()));
            let mut diagnostic = Diagnostic::new(span, format!("unknown key `{key}`{hint}"));
            diagnostic.help = help;
            Violation {
                diagnostic: Some(diagnostic),
                prune,
                fill: None,
            }
        })
        .collect()
}

/// The `properties` next to the failing `additionalProperties`, following `$ref`s.
fn allowed_keys(error: &ValidationError<'_>) -> Vec<String> {
    let root = schema();
    let mut node = root;
    let segments: Vec<String> = error
        .schema_path()
        .iter()
        .map(|s| match s {
            LocationSegment::Property(p) => p.to_string(),
            LocationSegment::Index(i) => i.to_string(),
        })
        .collect();
    let Some((_, parents)) = segments.split_last() else {
        return Vec::new();
    };
    for segment in parents {
        node = if segment == "$ref" {
            resolve_ref(root, node)
        } else {
            match node.get(segment) {
                Some(next) => next,
                None => return Vec::new(),
            }
        };
    }
    if node.get("properties").is_none() {
        node = resolve_ref(root, node);
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn resolve_ref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .unwrap_or(node)
}

fn bad_enum(node: &Node, path: &[PathSegment], options: &Value) -> (String, Option<String>) {
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

fn bad_type(node: &Node, path: &[PathSegment], kind: &TypeKind) -> (String, Option<String>) {
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

fn bad_pattern(
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

fn bad_name(name: &str, parent: &[PathSegment]) -> (String, Option<String>) {
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

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
