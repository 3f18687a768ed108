//! A step's structured output: the schema sent to the model, and the check of its answer.
//!
//! Codex sends `outputSchema` to the model in OpenAI strict mode (PROTOCOL.md §8), which
//! rejects schemas whose objects allow extra keys or leave properties optional. Authors
//! should not have to write strict schemas by hand, so weft sends a *strict form* of the
//! author's schema ([`strict_form`]): every object gets `additionalProperties: false`,
//! and every optional property becomes required but nullable. The answer is then checked
//! against the author's own schema, after the nulls that strict form introduced are
//! dropped ([`OutputSchema::check`]).

use serde_json::{Map, Value};

/// An output schema, compiled once per step.
pub struct OutputSchema {
    original: Value,
    strict: Value,
    validator: jsonschema::Validator,
}

/// Why an answer is not a valid output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The final message had no JSON in it.
    #[error("the answer is not JSON: {reason}")]
    NotJson { reason: String },
    /// The JSON does not match the schema; one line per violation.
    #[error("the answer does not match the output schema: {}", .errors.join("; "))]
    Invalid { errors: Vec<String> },
    /// The turn ended without a final message.
    #[error("the turn ended without a final message")]
    NoAnswer,
}

impl OutputSchema {
    /// Compiles `schema`; the error is the validator's message.
    pub fn new(schema: &Value) -> Result<Self, String> {
        let validator = jsonschema::validator_for(schema).map_err(|e| e.to_string())?;
        Ok(Self {
            original: schema.clone(),
            strict: strict_form(schema),
            validator,
        })
    }

    /// The schema to send as the turn's `outputSchema`.
    pub fn for_model(&self) -> &Value {
        &self.strict
    }

    /// Parses the final message and checks it against the author's schema.
    pub fn check(&self, answer: Option<&str>) -> Result<Value, OutputError> {
        let text = answer.ok_or(OutputError::NoAnswer)?;
        let mut value = parse_json_answer(text)?;
        drop_strict_nulls(&mut value, &self.original);
        self.validate(&value).map(|()| value)
    }

    /// Checks a value (a script's output, a gate's reply) against the author's schema, as
    /// it is.
    pub fn validate(&self, value: &Value) -> Result<(), OutputError> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                let at = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                format!("at `{at}`: {e}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(OutputError::Invalid { errors })
        }
    }
}

/// Parses a model's answer as JSON: the whole text, or else the first fenced
/// ```` ```json ```` (or bare ```` ``` ````) block in it.
pub fn parse_json_answer(text: &str) -> Result<Value, OutputError> {
    let whole = serde_json::from_str::<Value>(text.trim());
    match whole {
        Ok(value) => Ok(value),
        Err(err) => match fenced_block(text) {
            Some(block) => serde_json::from_str(block).map_err(|e| OutputError::NotJson {
                reason: e.to_string(),
            }),
            None => Err(OutputError::NotJson {
                reason: err.to_string(),
            }),
        },
    }
}

fn fenced_block(text: &str) -> Option<&str> {
    let start = text.find("```")?;
    let after = &text[start + 3..];
    let body_start = after.find('\n')? + 1;
    let tag = after[..body_start].trim();
    if !(tag.is_empty() || tag.eq_ignore_ascii_case("json")) {
        return None;
    }
    let body = &after[body_start..];
    let end = body.find("```")?;
    Some(body[..end].trim())
}

/// The strict-mode form of `schema`: objects closed, optional properties required and nullable.
pub fn strict_form(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "properties" | "$defs" | "definitions" | "patternProperties" => map_values(value),
            "items" | "additionalItems" | "not" | "if" | "then" | "else" | "contains" => {
                strict_form(value)
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => match value {
                Value::Array(items) => Value::Array(items.iter().map(strict_form).collect()),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if let Some(Value::Object(props)) = out.get("properties").cloned() {
        let required = required_names(map);
        let mut new_props = Map::new();
        for (name, prop) in props {
            let prop = if required.contains(&name) {
                prop
            } else {
                nullable(prop)
            };
            new_props.insert(name, prop);
        }
        let names: Vec<Value> = new_props.keys().cloned().map(Value::String).collect();
        out.insert("properties".into(), Value::Object(new_props));
        out.insert("required".into(), Value::Array(names));
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

fn map_values(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), strict_form(v))).collect())
        }
        other => other.clone(),
    }
}

fn required_names(map: &Map<String, Value>) -> Vec<String> {
    match map.get("required") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn nullable(prop: Value) -> Value {
    if allows_null(&prop) {
        return prop;
    }
    match prop {
        Value::Object(mut m) => match m.get("type").cloned() {
            Some(Value::String(t)) => {
                m.insert("type".into(), serde_json::json!([t, "null"]));
                Value::Object(m)
            }
            Some(Value::Array(mut ts)) => {
                ts.push(Value::String("null".into()));
                m.insert("type".into(), Value::Array(ts));
                Value::Object(m)
            }
            _ => serde_json::json!({ "anyOf": [Value::Object(m), { "type": "null" }] }),
        },
        other => other,
    }
}

fn allows_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => schema
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|alts| alts.iter().any(allows_null)),
    }
}

/// Removes `null` values of optional properties whose own schema does not allow null:
/// those nulls are strict mode's way of saying "absent".
fn drop_strict_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(obj) => {
            let Some(Value::Object(props)) = schema.get("properties") else {
                return;
            };
            let required = schema.as_object().map(required_names).unwrap_or_default();
            obj.retain(|key, v| {
                !(v.is_null()
                    && !required.contains(key)
                    && props.get(key).is_some_and(|p| !allows_null(p)))
            });
            for (key, v) in obj.iter_mut() {
                if let Some(sub) = props.get(key) {
                    drop_strict_nulls(v, sub);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    drop_strict_nulls(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn schema() -> OutputSchema {
        OutputSchema::new(&json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": { "type": "array", "items": {
                    "type": "object",
                    "required": ["path"],
                    "properties": { "path": { "type": "string" }, "note": { "type": "string" } }
                }},
                "summary": { "type": "string" }
            }
        }))
        .unwrap()
    }

    #[test]
    fn strict_form_closes_objects_and_makes_optional_nullable() {
        let s = schema();
        assert_eq!(
            s.for_model(),
            &json!({
                "type": "object",
                "required": ["files", "summary"],
                "properties": {
                    "files": { "type": "array", "items": {
                        "type": "object",
                        "required": ["path", "note"],
                        "properties": { "path": { "type": "string" }, "note": { "type": ["string", "null"] } },
                        "additionalProperties": false
                    }},
                    "summary": { "type": ["string", "null"] }
                },
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn strict_nulls_are_dropped_before_checking() {
        let answer = r#"{"files":[{"path":"a.rs","note":null}],"summary":null}"#;
        assert_eq!(
            schema().check(Some(answer)).unwrap(),
            json!({"files":[{"path":"a.rs"}]})
        );
    }

    #[test]
    fn fenced_json_is_accepted() {
        let answer = "Here you go:\n```json\n{\"files\": []}\n```\n";
        assert_eq!(schema().check(Some(answer)).unwrap(), json!({"files": []}));
    }

    #[test]
    fn violations_name_their_place() {
        let err = schema()
            .check(Some(r#"{"files":[{"path":3}]}"#))
            .unwrap_err();
        let OutputError::Invalid { errors } = err else {
            panic!("expected Invalid, got {err:?}")
        };
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("at `/files/0/path`:"), "{errors:?}");
    }

    #[test]
    fn prose_is_not_json() {
        let err = schema().check(Some("I could not do it.")).unwrap_err();
        assert!(matches!(err, OutputError::NotJson { .. }), "{err:?}");
        assert_eq!(schema().check(None).unwrap_err(), OutputError::NoAnswer);
    }

    #[test]
    fn required_null_stays_and_fails() {
        let err = schema().check(Some(r#"{"files":null}"#)).unwrap_err();
        assert!(matches!(err, OutputError::Invalid { .. }), "{err:?}");
    }
}
