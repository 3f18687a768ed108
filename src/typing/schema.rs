//! A step's `output_schema` as a [`Type`]: properties, required, items, enums and
//! `const`, type lists and nullability, `anyOf`/`oneOf`, and `$ref` within the schema.
//!
//! weft sends the strict form of a schema (`engine::output`), which closes every object
//! that declares `properties`: such an object is closed here too. An object without
//! `properties`, or with `patternProperties`, is open: reading any property of it is fine.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

use super::ty::{Field, Object, Type};

/// How deep `$ref`s are followed before the type becomes `Unknown` (recursive schemas).
const MAX_REF_DEPTH: usize = 8;

/// The type of the values `schema` accepts.
pub fn schema_type(schema: &Value) -> Type {
    Converter {
        root: schema,
        refs: Vec::new(),
    }
    .convert(schema)
}

struct Converter<'a> {
    root: &'a Value,
    refs: Vec<&'a str>,
}

impl<'a> Converter<'a> {
    fn convert(&mut self, schema: &'a Value) -> Type {
        let Value::Object(map) = schema else {
            return Type::Unknown;
        };
        if let Some(Value::String(reference)) = map.get("$ref") {
            return self.follow(reference);
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            return Type::Enum(values.clone());
        }
        if let Some(value) = map.get("const") {
            return Type::Enum(vec![value.clone()]);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(alternatives)) = map.get(key) {
                return Type::union(alternatives.iter().map(|a| self.convert(a)));
            }
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            return match parts.as_slice() {
                [one] => self.convert(one),
                _ => Type::Unknown,
            };
        }
        match map.get("type") {
            Some(Value::String(name)) => self.typed(name, map),
            Some(Value::Array(names)) => Type::union(
                names
                    .iter()
                    .map(|n| n.as_str().map_or(Type::Unknown, |n| self.typed(n, map))),
            ),
            _ if map.contains_key("properties") => self.typed("object", map),
            _ if map.contains_key("items") => self.typed("array", map),
            _ => Type::Unknown,
        }
    }

    fn typed(&mut self, name: &str, map: &'a serde_json::Map<String, Value>) -> Type {
        match name {
            "null" => Type::Null,
            "boolean" => Type::Bool,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "string" => Type::String,
            "array" => match map.get("items") {
                Some(items @ Value::Object(_)) => Type::array(self.convert(items)),
                _ => Type::array(Type::Unknown),
            },
            "object" => self.object(map),
            _ => Type::Unknown,
        }
    }

    fn object(&mut self, map: &'a serde_json::Map<String, Value>) -> Type {
        let Some(Value::Object(properties)) = map.get("properties") else {
            return Type::open_object();
        };
        let required: Vec<&str> = match map.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fields: BTreeMap<String, Field> = properties
            .iter()
            .map(|(name, schema)| {
                let field = Field {
                    ty: self.convert(schema),
                    required: required.contains(&name.as_str()),
                };
                (name.clone(), field)
            })
            .collect();
        Type::Object(Rc::new(Object {
            fields,
            open: map.contains_key("patternProperties"),
        }))
    }

    /// `#/$defs/x` and other JSON pointers into the same schema; anything else is `Unknown`.
    fn follow(&mut self, reference: &'a str) -> Type {
        let Some(pointer) = reference.strip_prefix('#') else {
            return Type::Unknown;
        };
        if self.refs.len() >= MAX_REF_DEPTH || self.refs.contains(&reference) {
            return Type::Unknown;
        }
        let Some(target) = self.root.pointer(pointer) else {
            return Type::Unknown;
        };
        self.refs.push(reference);
        let ty = self.convert(target);
        self.refs.pop();
        ty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typing::ty::Lookup;
    use serde_json::json;

    #[test]
    fn objects_arrays_required_and_enums() {
        let t = schema_type(&json!({
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": { "type": "array", "items": { "$ref": "#/$defs/item" } },
                "note": { "type": ["string", "null"] }
            },
            "$defs": { "item": { "type": "object", "required": ["level"],
                "properties": { "level": { "enum": ["low", "high"] } } } }
        }));
        let Lookup::Found(items, true) = t.property("items") else {
            panic!("{t:?}")
        };
        let item = items.element().unwrap();
        assert_eq!(
            item.property("level"),
            Lookup::Found(Type::Enum(vec![json!("low"), json!("high")]), true)
        );
        assert_eq!(
            t.property("note"),
            Lookup::Found(Type::Union(vec![Type::String, Type::Null]), false)
        );
        assert!(matches!(t.property("nope"), Lookup::Missing(_)));
    }

    #[test]
    fn open_and_recursive_schemas_are_unknown_where_they_must_be() {
        assert_eq!(schema_type(&json!({"type": "object"})), Type::open_object());
        assert_eq!(schema_type(&json!({})), Type::Unknown);
        let tree = schema_type(&json!({
            "$ref": "#/$defs/node",
            "$defs": { "node": { "type": "object", "properties": {
                "children": { "type": "array", "items": { "$ref": "#/$defs/node" } } } } }
        }));
        let Lookup::Found(children, false) = tree.property("children") else {
            panic!("{tree:?}")
        };
        assert_eq!(children.element(), Some(Type::Unknown));
    }
}
