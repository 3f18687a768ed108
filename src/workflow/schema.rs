//! Checks a parsed file against `schemas/workflow.schema.json` (the same schema `weft schema`
//! prints and editors use) and turns each violation into a located, readable diagnostic.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::diagnostic::{Diagnostic, suggest};
use super::node::{Node, NodeKind, PathSegment};
use super::schema_messages::{bad_enum, bad_name, bad_pattern, bad_type, lowercase_first};
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
    ("isolate", "isolation"),
    ("worktree", "isolation"),
    ("write", "writes"),
    ("on_conflicts", "on_conflict"),
    ("repair", "on_conflict"),
    ("shell_snapshot", "environment"),
    ("cached", "cache"),
    ("memoize", "cache"),
    ("read", "reads"),
    ("inputs_files", "reads"),
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
    /// The mapping a key is missing from, and the keys any one of which would do.
    pub missing: Option<(Vec<PathSegment>, Vec<String>)>,
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
            missing: None,
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
        if let Some((path, keys)) = &v.missing {
            if misspelled
                .iter()
                .any(|(p, k)| p == path && keys.contains(k))
            {
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
pub(super) fn field_name(path: &[PathSegment]) -> Option<String> {
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
            missing: None,
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
            violations[0].missing = Some((path.clone(), vec![property.to_string()]));
            violations
        }
        ValidationErrorKind::AnyOf { .. } if step_of(&path).is_some() && path.len() == 2 => {
            let id = step_of(&path).unwrap_or_default();
            let span = key_span(root, &path).unwrap_or(node.span);
            let mut violations = one(
                span,
                format!("step `{id}` has no `prompt`"),
                Some(
                    "a step is a turn of the agent (`prompt`), a script (`run`) or a \
                     person's answer (`gate`)"
                        .into(),
                ),
            );
            violations[0].prune.clear();
            let kinds = ["prompt", "run", "gate"].map(String::from).to_vec();
            violations[0].missing = Some((path.clone(), kinds));
            violations
        }
        ValidationErrorKind::AnyOf { .. } if step_of(&path).is_some() && path.len() == 2 => {
            let id = step_of(&path).unwrap_or_default();
            let span = key_span(root, &path).unwrap_or(node.span);
            let mut violations = one(
                span,
                format!("step `{id}` has no `prompt`"),
                Some("give it a `prompt`, a `prompt_file`, or `uses: ./other.yaml`".into()),
            );
            violations[0].prune.clear();
            violations[0].fill =
                stand_in("prompt", node.span).map(|n| (path.clone(), "prompt".into(), n));
            violations
        }
        ValidationErrorKind::AnyOf { .. } if matches!(path.last(), Some(PathSegment::Key(k)) if k == "effort") =>
        {
            let options = serde_json::json!(crate::vocab::Effort::ALL.map(|e| e.as_str()));
            let (message, _) = bad_enum(node, &path, &options);
            one(
                node.span,
                message,
                Some("expected one of `none`, `minimal`, `low`, `medium`, `high`, `xhigh`, or a template over `inputs` (`{{ inputs.effort }}`)".into()),
            )
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
            let mut violations = one(span, message, help);
            if let [
                PathSegment::Key(env),
                PathSegment::Index(_),
                PathSegment::Key(name),
            ] = path.as_slice()
            {
                if env == "env" && name == "name" {
                    let blank = stand_in(name, node.span);
                    violations[0].fill = blank.map(|n| (path[..2].to_vec(), name.clone(), n));
                }
            }
            violations
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
        ValidationErrorKind::OneOfNotValid { .. } if field_name(&path).as_deref() == Some("shell") => one(
            node.span,
            format!("`shell` must be a program name or a non-empty list of arguments, found {}", node.describe()),
            Some("e.g. `shell: sh`, `shell: python3` (run as `python3 -c SCRIPT`), or `shell: [node, -e]`".into()),
        ),
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
        "type" => NodeKind::Str("string".into()),
        "steps" => NodeKind::Map(Vec::new()),
        "name" => NodeKind::Str(String::new()),
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
                missing: None,
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
