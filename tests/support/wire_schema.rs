//! The app-server's own JSON Schema of its protocol (`codex app-server
//! generate-json-schema`), and the questions the protocol test asks of it: is this message
//! valid, does it carry a key the schema does not know, does this field exist, which
//! values may this enum take.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// One schema document: a file of the generated output, with its own `definitions`.
pub struct SchemaDoc {
    pub root: Value,
}

/// The generated schema of a codex binary, written into `dir`.
pub fn generate(codex: &Path, dir: &Path) {
    let output = std::process::Command::new(codex)
        .args(["app-server", "generate-json-schema", "--out"])
        .arg(dir)
        .output()
        .expect("run codex app-server generate-json-schema");
    assert!(
        output.status.success(),
        "generate-json-schema failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl SchemaDoc {
    /// Read `file` (relative to the generated directory).
    pub fn read(dir: &Path, file: &str) -> SchemaDoc {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
        SchemaDoc {
            root: serde_json::from_str(&text).expect("schema is JSON"),
        }
    }

    /// The definition `name`.
    pub fn definition(&self, name: &str) -> &Value {
        let found = &self.root["definitions"][name];
        assert!(!found.is_null(), "no definition `{name}` in the schema");
        found
    }

    /// The messages of a `oneOf` over methods (`ClientRequest.json`, ...): method → branch.
    pub fn methods(&self) -> Vec<(String, &Value)> {
        let branches = self.root["oneOf"].as_array().expect("a oneOf of messages");
        branches
            .iter()
            .filter_map(|b| Some((b["properties"]["method"]["enum"][0].as_str()?.to_owned(), b)))
            .collect()
    }

    /// The params schema of `method`.
    pub fn params_of(&self, method: &str) -> &Value {
        let branch = self
            .methods()
            .into_iter()
            .find(|(m, _)| m == method)
            .unwrap_or_else(|| panic!("the schema has no method `{method}`"))
            .1;
        &branch["properties"]["params"]
    }

    /// Follow `$ref`s to the schema they name.
    pub fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(reference) = schema["$ref"].as_str() {
            let pointer = reference.trim_start_matches('#');
            schema = self
                .root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        schema
    }

    /// The object schemas a value of `schema` may be: `$ref`s followed, `allOf`, `anyOf`
    /// and `oneOf` spread out; each with its `properties`.
    pub fn alternatives<'a>(&'a self, schema: &'a Value) -> Vec<&'a Value> {
        let schema = self.resolve(schema);
        let mut found = vec![schema];
        for key in ["allOf", "anyOf", "oneOf"] {
            for branch in schema[key].as_array().into_iter().flatten() {
                found.extend(self.alternatives(branch));
            }
        }
        found
    }

    /// The sub-schemas found at `path` (`turn.items[]`, `[]` is an array's items); empty
    /// when the schema has no such field.
    pub fn at<'a>(&'a self, schema: &'a Value, path: &str) -> Vec<&'a Value> {
        let mut current = vec![schema];
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (name, items) = match segment.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (segment, false),
            };
            let mut next = Vec::new();
            for schema in current {
                for alt in self.alternatives(schema) {
                    let field = if name.is_empty() {
                        Some(alt)
                    } else {
                        alt["properties"].get(name)
                    };
                    let Some(field) = field else { continue };
                    if items {
                        for inner in self.alternatives(field) {
                            if let Some(element) = inner.get("items") {
                                next.push(element);
                            }
                        }
                    } else {
                        next.push(field);
                    }
                }
            }
            current = next;
        }
        current
    }

    /// The branch of a tagged union whose `tag` is `value` (`ThreadItem` with `type`
    /// `agentMessage`).
    pub fn variant<'a>(&'a self, schema: &'a Value, tag: &str, value: &str) -> &'a Value {
        self.alternatives(schema)
            .into_iter()
            .find(|alt| self.enum_values(&alt["properties"][tag]).contains(value))
            .unwrap_or_else(|| panic!("no variant with {tag} = `{value}`"))
    }

    /// Every string an enum-like schema allows (`enum`, `const`, across branches).
    pub fn enum_values(&self, schema: &Value) -> BTreeSet<String> {
        let mut values = BTreeSet::new();
        if schema.is_null() {
            return values;
        }
        for alt in self.alternatives(schema) {
            for value in alt["enum"].as_array().into_iter().flatten() {
                values.extend(value.as_str().map(str::to_owned));
            }
            values.extend(alt["const"].as_str().map(str::to_owned));
        }
        values
    }

    /// The keys of `value` (at any depth) that `schema` does not declare, as paths.
    pub fn unknown_keys(&self, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let mut found = Vec::new();
        self.walk(schema, value, path, &mut found);
        found
    }

    fn walk(&self, schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
        let alternatives = self.matching(schema, value);
        match value {
            Value::Object(object) => {
                if alternatives.iter().any(|alt| is_free_form(alt)) {
                    return;
                }
                for (key, inner) in object {
                    let declared = alternatives
                        .iter()
                        .find_map(|alt| alt["properties"].get(key));
                    match declared {
                        Some(field) => self.walk(field, inner, &format!("{path}.{key}"), found),
                        None => found.push(format!("{path}.{key}")),
                    }
                }
            }
            Value::Array(items) => {
                let Some(element) = alternatives.iter().find_map(|alt| alt.get("items")) else {
                    return;
                };
                for (i, inner) in items.iter().enumerate() {
                    self.walk(element, inner, &format!("{path}[{i}]"), found);
                }
            }
            _ => {}
        }
    }

    /// The alternatives of `schema` that fit `value`: the right JSON type, the right tag
    /// (`type`, `method`), every required key present.
    fn matching<'a>(&'a self, schema: &'a Value, value: &Value) -> Vec<&'a Value> {
        self.alternatives(schema)
            .into_iter()
            .filter(|alt| type_fits(alt, value))
            .filter(|alt| {
                let Value::Object(object) = value else {
                    return true;
                };
                let tags_fit = ["type", "method"].iter().all(|tag| {
                    let allowed = self.enum_values(&alt["properties"][*tag]);
                    match object.get(*tag).and_then(Value::as_str) {
                        Some(actual) => allowed.is_empty() || allowed.contains(actual),
                        None => true,
                    }
                });
                let required = alt["required"].as_array().into_iter().flatten();
                let has_required = required
                    .filter_map(Value::as_str)
                    .all(|key| object.contains_key(key));
                tags_fit && has_required
            })
            .collect()
    }
}

/// An object schema that declares no properties and no combinators (`{}`, a map), or lets
/// any other key through: keys inside it are not checked.
fn is_free_form(schema: &Value) -> bool {
    let combinators = ["allOf", "anyOf", "oneOf", "$ref"]
        .iter()
        .any(|k| schema.get(*k).is_some());
    let open = schema
        .get("additionalProperties")
        .is_some_and(|a| *a != Value::Bool(false));
    let takes_objects = match &schema["type"] {
        Value::Null => true,
        Value::String(t) => t == "object",
        Value::Array(ts) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    takes_objects && (open || (schema.get("properties").is_none() && !combinators))
}

fn type_fits(schema: &Value, value: &Value) -> bool {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = |t: &Value| t == name || (t == "number" && name == "integer");
    match &schema["type"] {
        Value::Null => true,
        Value::String(_) => fits(&schema["type"]),
        Value::Array(types) => types.iter().any(fits),
        _ => true,
    }
}
