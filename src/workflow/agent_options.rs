//! The agent settings a step (or `defaults`, or a thread) writes beside its policies:
//! `model` and `effort` as templates over `inputs`, and `config`, Codex config overrides
//! for the step's thread, checked for shape ([`super::codex_config`]).

use serde_json::{Map, Value};

use super::codex_config;
use super::diagnostic::Diagnostics;
use super::lower::Context;
use super::spanned::Spanned;
use crate::vocab::Effort;

/// Whether a `model` or `effort` is written as a template.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// A `model`: a name, or a template rendered when the run starts.
pub fn model_of(raw: Option<Spanned<String>>) -> (Option<String>, Option<Spanned<String>>) {
    match raw {
        Some(m) if is_template(&m.value) => (None, Some(m)),
        Some(m) => (Some(m.value), None),
        None => (None, None),
    }
}

/// An `effort`: one of the efforts, or a template giving one (the schema has refused
/// anything else already; what slips through is reported here).
pub fn effort_of(
    raw: Option<Spanned<String>>,
    out: &mut Diagnostics,
) -> (Option<Effort>, Option<Spanned<String>>) {
    let Some(effort) = raw else {
        return (None, None);
    };
    if is_template(&effort.value) {
        return (None, Some(effort));
    }
    match Effort::parse(&effort.value) {
        Some(e) => (Some(e), None),
        None => {
            out.error(effort.span, format!("invalid effort `{}`", effort.value));
            (None, None)
        }
    }
}

/// A `config:` mapping, every key checked; `at` is where its owner is written
/// (`["steps", "review"]`). Keys that fail are left out.
pub fn lower_config(
    config: Spanned<Value>,
    at: &[&str],
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Option<Spanned<Map<String, Value>>> {
    let Value::Object(map) = config.value else {
        return None;
    };
    let mut path: Vec<super::node::PathSegment> = at
        .iter()
        .map(|s| super::node::PathSegment::Key(s.to_string()))
        .collect();
    path.push(super::node::PathSegment::Key("config".into()));
    let node = cx.root.walk(&path);
    let kept = map
        .into_iter()
        .filter(|(key, value)| codex_config::check(key, value, node, out))
        .collect();
    Some(Spanned::new(kept, config.span))
}
