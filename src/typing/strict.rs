//! The strict-mode lint of output schemas. Codex sends a step's schema to the model in
//! OpenAI's strict structured-output mode, which supports a subset of JSON Schema. weft
//! sends a *strict form* (`engine::output::strict_form`): it closes objects that declare
//! `properties` and makes their optional properties required but nullable; everything
//! else goes unchanged. This lint warns where the schema leaves that subset, and says
//! what the strict form does there.

use std::borrow::Cow;

use serde_json::Value;

use crate::workflow::{Diagnostic, Diagnostics, Span, Step, Workflow};

/// Keywords OpenAI's structured outputs document as not supported in strict mode.
const UNSUPPORTED: &[&str] = &[
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "uniqueItems",
    "minLength",
    "maxLength",
];

/// Keys whose value is a schema, and keys whose value maps names (or lists) to schemas.
const SUBSCHEMA: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
];
const SUBSCHEMAS: &[&str] = &[
    "properties",
    "$defs",
    "definitions",
    "patternProperties",
    "dependentSchemas",
    "anyOf",
    "oneOf",
    "allOf",
    "prefixItems",
];

/// Warn about every step whose output schema strict mode would not accept as sent.
pub fn lint(workflow: &Workflow, out: &mut Diagnostics) {
    for step in &workflow.steps {
        if let Some(schema) = &step.output_schema {
            let mut found = Vec::new();
            root(schema, &mut found);
            walk(schema, &mut Vec::new(), &mut found);
            for problem in found {
                out.push(warning(workflow, step, problem));
            }
        }
    }
}

/// One place strict mode would refuse: its JSON pointer, the key to point at, what is
/// wrong, and what weft's strict form does about it.
struct Problem {
    pointer: String,
    key: String,
    what: String,
    help: String,
}

fn root(schema: &Value, found: &mut Vec<Problem>) {
    let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
    if !is_object || schema.get("anyOf").is_some() {
        found.push(Problem {
            pointer: String::new(),
            key: "type".into(),
            what: "is not an object at its root, as openai's strict mode requires".into(),
            help: "weft's strict form sends the root unchanged, so the model provider may refuse the schema; wrap the value in an object (`{ type: object, properties: { items: … } }`)".into(),
        });
    }
}

/// Look at `schema` (at JSON pointer `path`) and every schema inside it; the pointer is
/// only written out for a problem.
fn walk<'a>(schema: &'a Value, path: &mut Vec<Cow<'a, str>>, found: &mut Vec<Problem>) {
    let Value::Object(map) = schema else { return };
    let pointer = |path: &[Cow<'_, str>]| path.iter().map(|p| format!("/{p}")).collect::<String>();
    for key in map.keys().filter(|k| UNSUPPORTED.contains(&k.as_str())) {
        found.push(Problem {
            pointer: pointer(path),
            key: key.to_string(),
            what: format!("uses `{key}`, which openai's strict mode does not accept"),
            help: format!("weft's strict form sends `{key}` unchanged, so the model provider may refuse the schema; drop it (and check the answer with `fail_if` if it matters)"),
        });
    }
    let is_object = map.get("type").and_then(Value::as_str) == Some("object");
    match (map.get("properties"), map.get("additionalProperties")) {
        (Some(_), Some(extra)) if extra != &Value::Bool(false) => found.push(Problem {
            pointer: pointer(path),
            key: "additionalProperties".into(),
            what: "allows additional properties, which openai's strict mode does not".into(),
            help: "weft's strict form sets `additionalProperties: false` here, so the model never adds a property the schema does not name".into(),
        }),
        (None, _) if is_object => found.push(Problem {
            pointer: pointer(path),
            key: "type".into(),
            what: "has an object without `properties`, which openai's strict mode does not accept".into(),
            help: "weft's strict form can only close an object whose properties it knows, and sends this one unchanged, so the model provider may refuse the schema; name its properties".into(),
        }),
        _ => {}
    }
    for (key, sub) in map {
        let key = key.as_str();
        if SUBSCHEMA.contains(&key) {
            path.push(Cow::Borrowed(key));
            walk(sub, path, found);
            path.pop();
        } else if SUBSCHEMAS.contains(&key) {
            path.push(Cow::Borrowed(key));
            match sub {
                Value::Object(named) => {
                    for (name, inner) in named {
                        path.push(Cow::Borrowed(name));
                        walk(inner, path, found);
                        path.pop();
                    }
                }
                Value::Array(list) => {
                    for (i, inner) in list.iter().enumerate() {
                        path.push(Cow::Owned(i.to_string()));
                        walk(inner, path, found);
                        path.pop();
                    }
                }
                _ => {}
            }
            path.pop();
        }
    }
}

/// The warning for `problem`: at the key in an inline schema, else at the schema's path.
fn warning(workflow: &Workflow, step: &Step, problem: Problem) -> Diagnostic {
    let whole = step.output_schema_span.unwrap_or(step.id.span);
    let text = workflow
        .source
        .text
        .get(whole.start..whole.end)
        .unwrap_or("");
    let inline = text.trim_start().starts_with('{') || text.contains(':');
    let found = inline
        .then(|| find_key(text, &problem.key, &problem.pointer))
        .flatten();
    let (span, file) = match found {
        Some(at) => (
            Span::new(whole.start + at, whole.start + at + problem.key.len()),
            String::new(),
        ),
        None if inline => (whole, String::new()),
        None => (whole, format!(" of `{}`", text.trim_matches(['"', '\'']))),
    };
    let at = if problem.pointer.is_empty() {
        "/"
    } else {
        &problem.pointer
    };
    let message = format!(
        "`output_schema` of step `{}` {} (at `{at}`{file})",
        step.id.value, problem.what
    );
    Diagnostic::warning(span, message).with_help(problem.help)
}

/// Where `key` is written as a mapping key in an inline schema's text: after the last
/// named segment of `pointer` when that is written too.
fn find_key(text: &str, key: &str, pointer: &str) -> Option<usize> {
    let from = pointer
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.chars().all(|c| c.is_ascii_digit()))
        .and_then(|segment| key_at(text, segment, 0))
        .unwrap_or(0);
    key_at(text, key, from)
}

fn key_at(text: &str, key: &str, from: usize) -> Option<usize> {
    text.get(from..)?
        .match_indices(key)
        .map(|(i, _)| from + i)
        .find(|&i| {
            let before = text[..i].chars().next_back();
            let after = text[i + key.len()..].trim_start_matches(['"', '\'']);
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && after.trim_start().starts_with(':')
        })
}
