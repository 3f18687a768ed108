//! The shape of Codex config overrides (`config:` of a step, a thread or `defaults`),
//! checked against `schemas/codex-config.schema.json`: weft's list of the config.toml keys
//! the pinned codex reads, with the types of those a step would set. An unknown key gets
//! a did-you-mean (codex itself ignores it silently), a value of the wrong type is an
//! error (codex would fail the thread mid-run), and a key whose setting weft owns is
//! refused with the weft key to use.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::{Value, json};

use super::diagnostic::{Diagnostic, Diagnostics, suggest};
use super::node::{Node, NodeKind, PathSegment};

/// The config keys weft knows, as shipped in `schemas/`.
pub const CODEX_CONFIG_SCHEMA: &str = include_str!("../../schemas/codex-config.schema.json");

/// Keys weft sets itself, or that would take a setting out of weft's hands: the key, and
/// what to write instead.
pub const REFUSED: &[(&str, &str)] = &[
    ("model", "set the step's `model`"),
    ("model_reasoning_effort", "set the step's `effort`"),
    ("approval_policy", "set the step's `approval`"),
    (
        "approvals_reviewer",
        "weft answers approval requests from `approvals:`",
    ),
    ("sandbox_mode", "set the step's `sandbox`"),
    (
        "sandbox_workspace_write",
        "set `network: true` for network access; weft sends each turn's sandbox itself",
    ),
    (
        "permissions",
        "weft decides the sandbox: set `sandbox` and `network`",
    ),
    (
        "default_permissions",
        "weft decides the sandbox: set `sandbox` and `network`",
    ),
    (
        "developer_instructions",
        "set the step's `developer_instructions`",
    ),
    ("instructions", "set the step's `developer_instructions`"),
    (
        "model_provider",
        "the model provider comes from your Codex configuration, never from a workflow",
    ),
    (
        "model_providers",
        "the model provider comes from your Codex configuration, never from a workflow",
    ),
    (
        "openai_base_url",
        "the model provider comes from your Codex configuration, never from a workflow",
    ),
    (
        "chatgpt_base_url",
        "the model provider comes from your Codex configuration, never from a workflow",
    ),
    (
        "profile",
        "profiles belong to your Codex configuration; write the keys themselves here",
    ),
    (
        "profiles",
        "profiles belong to your Codex configuration; write the keys themselves here",
    ),
];

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(CODEX_CONFIG_SCHEMA).unwrap_or(json!({})))
}

/// The top-level keys weft accepts.
pub fn known_keys() -> Vec<&'static str> {
    schema()["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Checks one entry `key: value` of the `config` mapping written at `node`; false when
/// it is wrong (reported to `out`).
pub fn check(key: &str, value: &Value, node: &Node, out: &mut Diagnostics) -> bool {
    let (key_node, value_node) = match node.entry(key) {
        Some((k, v)) => (k.clone(), v.clone()),
        None => (node.clone(), node.clone()),
    };
    let segments: Vec<&str> = key.split('.').collect();
    let top = segments[0];
    if let Some((_, instead)) = REFUSED.iter().find(|(k, _)| *k == top) {
        out.push(
            Diagnostic::new(key_node.span, format!("`config` cannot set `{top}`"))
                .with_help(*instead),
        );
        return false;
    }
    let Some(mut leaf) = schema()["properties"].get(top) else {
        let known = known_keys();
        let hint = suggest(top, known.iter().copied());
        out.push(
            Diagnostic::new(key_node.span, format!("unknown codex config key `{top}`{hint}"))
                .with_help("`config` takes codex config.toml keys (`mcp_servers`, `web_search`, `tools`, `features`, ...); codex would ignore this one"),
        );
        return false;
    };
    for segment in &segments[1..] {
        leaf = child_schema(leaf, segment);
    }
    let wrapper = json!({ "definitions": schema()["definitions"], "allOf": [leaf] });
    let Ok(validator) = jsonschema::draft7::new(&wrapper) else {
        return true;
    };
    let mut fine = true;
    for error in validator.iter_errors(value) {
        fine = false;
        out.extend(describe(key, leaf, &value_node, &error));
    }
    fine
}

/// The schema of `name` inside `parent` (following a `$ref`); anything when unknown.
fn child_schema<'a>(parent: &'a Value, name: &str) -> &'a Value {
    static ANYTHING: OnceLock<Value> = OnceLock::new();
    let anything = ANYTHING.get_or_init(|| json!({}));
    let parent = resolve(parent);
    parent
        .get("properties")
        .and_then(|p| p.get(name))
        .or_else(|| parent.get("additionalProperties").filter(|a| a.is_object()))
        .unwrap_or(anything)
}

fn resolve(node: &Value) -> &Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .and_then(|name| schema()["definitions"].get(name))
        .unwrap_or(node)
}

/// The diagnostic of one violation (`None` when another one says it better).
fn describe(
    key: &str,
    leaf: &Value,
    value: &Node,
    error: &jsonschema::ValidationError<'_>,
) -> Option<Diagnostic> {
    let path: Vec<PathSegment> = error
        .instance_path()
        .iter()
        .map(|s| match s {
            LocationSegment::Property(p) => PathSegment::Key(p.to_string()),
            LocationSegment::Index(i) => PathSegment::Index(i),
        })
        .collect();
    let at = value.walk(&path);
    let mut where_ = key.to_string();
    for segment in &path {
        match segment {
            PathSegment::Key(k) => where_.push_str(&format!(".{k}")),
            PathSegment::Index(i) => where_.push_str(&format!("[{i}]")),
        }
    }
    let allowed = allowed(leaf, &path);
    let d = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            let span = at.entry(&name).map_or(at.span, |(k, _)| k.span);
            let hint = suggest(&name, allowed.iter().map(String::as_str));
            Diagnostic::new(
                span,
                format!("unknown key `{name}` in `config.{where_}`{hint}"),
            )
        }
        ValidationErrorKind::Enum { options } => Diagnostic::new(
            at.span,
            format!("invalid `config.{where_}` {}", error.instance()),
        )
        .with_help(format!("expected one of {}", quoted(options))),
        ValidationErrorKind::Type { kind } => Diagnostic::new(
            at.span,
            format!(
                "`config.{where_}` must be {}, found {}",
                types(kind),
                at.describe()
            ),
        ),
        ValidationErrorKind::AnyOf { .. } if where_.starts_with("mcp_servers") => {
            return no_transport(&where_, at, &allowed);
        }
        _ => Diagnostic::new(at.span, format!("`config.{where_}`: {error}")),
    };
    Some(d)
}

/// An MCP server without `command` or `url` (said once: not when a key is misspelled).
fn no_transport(where_: &str, at: &Node, allowed: &[String]) -> Option<Diagnostic> {
    let misspelled = match &at.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .any(|(k, _)| !allowed.contains(&k.key_text())),
        _ => false,
    };
    (!misspelled).then(|| {
        Diagnostic::new(
            at.span,
            format!("mcp server `config.{where_}` has neither `command` nor `url`"),
        )
        .with_help("a local server has `command` (and `args`), a remote one `url`")
    })
}

/// `` `a`, `b` `` of an enum's values.
fn quoted(options: &Value) -> String {
    let list: Vec<String> = options
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
        .collect();
    list.join(", ")
}

/// "a boolean or a mapping".
fn types(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![article(&t.to_string())],
        TypeKind::Multiple(set) => set.iter().map(|t| article(&t.to_string())).collect(),
    };
    names.join(" or ")
}

fn article(json_type: &str) -> String {
    match json_type {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        other => format!("a {other}"),
    }
}

/// The properties allowed in the object at `path` of a value of schema `leaf`.
fn allowed(leaf: &Value, path: &[PathSegment]) -> Vec<String> {
    let mut node = leaf;
    for segment in path {
        node = match segment {
            PathSegment::Key(k) => child_schema(node, k),
            PathSegment::Index(_) => resolve(node).get("items").unwrap_or(node),
        };
    }
    resolve(node)
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}
