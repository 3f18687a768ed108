//! [`KeyParts`]: what decides a cached unit's result, as named parts (`prompt`, `model`,
//! `files`, ...), each hashed on its own (SHA-256 of its canonical JSON), and the cache
//! key: the hash of all of them. Keeping each part's hash lets weft name the part that
//! changed since a step's last stored result.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Bumped when what a key covers changes, so that older entries are never served.
const KEY_FORMAT: &str = "weft-cache-1";

/// A unit's key parts: part name → hash of its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyParts {
    parts: BTreeMap<String, String>,
}

impl KeyParts {
    /// Adds part `name` with `value` (a part added twice keeps the last value).
    pub fn add(&mut self, name: &str, value: &Value) {
        self.parts.insert(name.to_string(), hash_value(value));
    }

    /// The parts, by name.
    pub fn parts(&self) -> &BTreeMap<String, String> {
        &self.parts
    }

    /// The cache key: the hash of every part (and the key format).
    pub fn key(&self) -> String {
        let mut map = Map::new();
        map.insert("format".into(), Value::from(KEY_FORMAT));
        for (name, hash) in &self.parts {
            map.insert(name.clone(), Value::from(hash.as_str()));
        }
        hash_value(&Value::Object(map))
    }

    /// The names of the parts that differ from `other`'s (one missing on either side
    /// counts), in name order.
    pub fn differing(&self, other: &BTreeMap<String, String>) -> Vec<String> {
        let mut names: Vec<&String> = self.parts.keys().chain(other.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|n| self.parts.get(*n) != other.get(*n))
            .cloned()
            .collect()
    }
}

/// The SHA-256 (lowercase hex) of `value`'s canonical JSON.
pub fn hash_value(value: &Value) -> String {
    hex(&Sha256::digest(canonical(value).as_bytes()))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` as JSON with every object's keys in sorted order and no whitespace: equal
/// values give equal text, whatever order their keys were inserted in.
pub fn canonical(value: &Value) -> String {
    sorted(value).to_string()
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": [1, 2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": [1, 2], "y": 2}, "b": 1}"#).unwrap();
        assert_eq!(hash_value(&a), hash_value(&b));
        assert_ne!(hash_value(&a), hash_value(&json!({"b": 1})));
        assert_eq!(canonical(&b), r#"{"a":{"x":[1,2],"y":2},"b":1}"#);
    }

    #[test]
    fn the_key_depends_on_every_part_and_differing_names_it() {
        let mut one = KeyParts::default();
        one.add("prompt", &json!("hi"));
        one.add("model", &json!("m"));
        let mut two = one.clone();
        assert_eq!(one.key(), two.key());
        two.add("model", &json!("other"));
        assert_ne!(one.key(), two.key());
        assert_eq!(two.differing(one.parts()), ["model"]);
        two.add("files", &json!("t"));
        assert_eq!(two.differing(one.parts()), ["files", "model"]);
    }
}
