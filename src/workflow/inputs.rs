//! Typed inputs: `--input key=value` pairs and an `--inputs FILE` (JSON or YAML), checked
//! against the declarations, defaults filled in.

use std::path::Path;

use serde_json::{Map, Value};

use super::diagnostic::suggest;
use super::model::{Input, InputType, Workflow};
use super::parse::parse;
use super::source::SourceFile;

/// A problem with the inputs given to a run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// `--input` without `=`.
    #[error("invalid `--input {0}`; write `--input name=value`")]
    Syntax(String),
    /// Not declared under `inputs:`.
    #[error("unknown input `{name}`{hint}")]
    Unknown {
        /// The name given.
        name: String,
        /// `; did you mean …?` or nothing.
        hint: String,
    },
    /// Required and not given.
    #[error("missing required input `{0}`; pass `--input {0}=...`")]
    Missing(String),
    /// Not of the declared type.
    #[error("input `{name}` must be {expected}, got `{value}`")]
    Type {
        /// The input.
        name: String,
        /// What it must be.
        expected: String,
        /// What was given.
        value: String,
    },
    /// A secret too short to mask without garbling unrelated text.
    #[error(
        "secret {what} has {chars} character(s); a secret needs at least {min}, or masking it would garble unrelated text",
        min = crate::redact::MIN_SECRET_CHARS
    )]
    SecretTooShort {
        /// "input `token`", "environment variable `GH_TOKEN`".
        what: String,
        /// How many characters the value has.
        chars: usize,
    },
    /// `weft resume` needs a secret the record does not keep.
    #[error("{what} is secret, so run {run} did not keep it; {fix}")]
    SecretNeeded {
        /// "input `token`", "environment variable `GH_TOKEN`".
        what: String,
        /// The run being resumed.
        run: String,
        /// How to give it again.
        fix: String,
    },
    /// `weft resume --input` for an input that the run record keeps.
    #[error(
        "input `{0}` is not secret: a resumed run keeps the inputs it started with (`weft run` starts a new run with new ones)"
    )]
    NotSecret(String),
    /// The inputs file could not be read or parsed.
    #[error("cannot read inputs file `{path}`: {message}")]
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// Parse `key=value` (for clap).
pub fn parse_pair(text: &str) -> Result<(String, String), InputError> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| InputError::Syntax(text.to_string()))
}

/// The inputs of a run: the file's values, then `pairs` over them, then defaults; every
/// declared input present (optional ones without a default are null).
pub fn resolve(
    workflow: &Workflow,
    pairs: &[(String, String)],
    file: Option<&Path>,
) -> Result<Map<String, Value>, InputError> {
    resolve_values(&workflow.inputs, given(workflow, pairs, file)?)
}

/// Inputs given as values (`with:` of a step that calls a workflow) checked against the
/// declarations `inputs`, defaults filled in, in declaration order.
pub fn resolve_values(
    inputs: &[Input],
    given: Map<String, Value>,
) -> Result<Map<String, Value>, InputError> {
    let declared = |name: &str| {
        inputs
            .iter()
            .find(|i| i.name.value == name)
            .ok_or_else(|| InputError::Unknown {
                name: name.to_string(),
                hint: suggest(name, inputs.iter().map(|i| i.name.value.as_str())),
            })
    };
    let mut out = Map::new();
    for (name, value) in &given {
        let input = declared(name)?;
        check(input, value)?;
        out.insert(name.clone(), value.clone());
    }
    for input in inputs {
        let name = &input.name.value;
        if out.contains_key(name) {
            continue;
        }
        match (&input.default, input.required) {
            (Some(default), _) => out.insert(name.clone(), default.clone()),
            (None, false) => out.insert(name.clone(), Value::Null),
            (None, true) => return Err(InputError::Missing(name.clone())),
        };
    }
    let ordered = inputs
        .iter()
        .filter_map(|i| {
            out.get(&i.name.value)
                .map(|v| (i.name.value.clone(), v.clone()))
        })
        .collect();
    Ok(ordered)
}

/// The inputs given, each checked against its declaration: the file's values, then
/// `pairs` over them. Nothing is filled in.
pub fn given(
    workflow: &Workflow,
    pairs: &[(String, String)],
    file: Option<&Path>,
) -> Result<Map<String, Value>, InputError> {
    let mut given = Map::new();
    if let Some(path) = file {
        given = read_file(path)?;
    }
    for (name, text) in pairs {
        let input = declared(workflow, name)?;
        given.insert(name.clone(), from_text(input, text)?);
    }
    for (name, value) in &given {
        check(declared(workflow, name)?, value)?;
    }
    Ok(given)
}

fn declared<'a>(workflow: &'a Workflow, name: &str) -> Result<&'a Input, InputError> {
    workflow.input(name).ok_or_else(|| InputError::Unknown {
        name: name.to_string(),
        hint: suggest(name, workflow.inputs.iter().map(|i| i.name.value.as_str())),
    })
}

fn expected(input: &Input) -> String {
    match input.ty {
        InputType::Enum => {
            let list: Vec<String> = input
                .values
                .iter()
                .map(|v| format!("`{}`", plain(v)))
                .collect();
            format!("one of {}", list.join(", "))
        }
        InputType::Integer => "an integer".into(),
        InputType::Array => "a JSON array".into(),
        InputType::Object => "a JSON object".into(),
        other => format!("a {}", other.as_str()),
    }
}

fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// The error for `text`, which is not a value of `input`'s type; a secret's value is not
/// shown.
fn type_error(input: &Input, text: &str) -> InputError {
    let value = if input.secret {
        crate::redact::MASK.to_string()
    } else {
        text.to_string()
    };
    InputError::Type {
        name: input.name.value.clone(),
        expected: expected(input),
        value,
    }
}

/// A command-line value typed by its declaration: strings stay text, the rest is JSON.
fn from_text(input: &Input, text: &str) -> Result<Value, InputError> {
    let value = match input.ty {
        InputType::String => Value::String(text.to_string()),
        InputType::Enum => input
            .values
            .iter()
            .find(|v| plain(v) == text)
            .cloned()
            .ok_or_else(|| type_error(input, text))?,
        _ => serde_json::from_str(text.trim()).map_err(|_| type_error(input, text))?,
    };
    check(input, &value)?;
    Ok(value)
}

fn check(input: &Input, value: &Value) -> Result<(), InputError> {
    if input.ty.accepts(value, &input.values) || (value.is_null() && !input.required) {
        Ok(())
    } else {
        Err(type_error(input, &plain(value)))
    }
}

fn read_file(path: &Path) -> Result<Map<String, Value>, InputError> {
    let fail = |message: String| InputError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string().to_lowercase()))?;
    let file = SourceFile::new(path, text);
    let value = parse(&file).map_err(|d| {
        let at = file.position(d.span.start);
        fail(format!(
            "line {}, column {}: {}",
            at.line, at.column, d.message
        ))
    })?;
    match value.root.to_json() {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(fail("expected a mapping of input names to values".into())),
    }
}
