//! The type model: what can be known about a template value before the run, inferred
//! from input declarations, output schemas and the fields of step results.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

/// The type of a value a template reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// Anything: an absent or open schema. The checker never complains about it.
    Unknown,
    /// `none`.
    Null,
    /// `true` or `false`.
    Bool,
    /// An integer.
    Integer,
    /// Any number.
    Number,
    /// A string.
    String,
    /// Exactly one of these values (`enum`, `const`, a step's `status`).
    Enum(Vec<Value>),
    /// A list of elements of one type.
    Array(Rc<Type>),
    /// A mapping with known properties.
    Object(Rc<Object>),
    /// Any of these types; flat, at least two, never `Unknown`.
    Union(Vec<Type>),
}

/// An object's properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    /// The declared properties, by name.
    pub fields: BTreeMap<String, Field>,
    /// Whether it may hold properties that are not declared (then they are `Unknown`).
    pub open: bool,
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its type.
    pub ty: Type,
    /// Whether it is always there; an optional property may be absent.
    pub required: bool,
}

impl Field {
    /// A property that is always there.
    pub fn required(ty: Type) -> Self {
        Field { ty, required: true }
    }
}

/// What reading a property gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The property's type, and whether it is always there.
    Found(Type, bool),
    /// The value is a scalar (or a list) and has no properties.
    NotAnObject,
    /// A closed object without that property; its property names.
    Missing(Vec<String>),
}

impl Type {
    /// An object type from `(name, type)` pairs, every property required.
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Type)>) -> Type {
        Type::Object(Rc::new(Object {
            fields: fields
                .into_iter()
                .map(|(name, ty)| (name.to_string(), Field::required(ty)))
                .collect(),
            open: false,
        }))
    }

    /// An object that may hold anything.
    pub fn open_object() -> Type {
        Type::Object(Rc::new(Object {
            fields: BTreeMap::new(),
            open: true,
        }))
    }

    /// A list of `element`.
    pub fn array(element: Type) -> Type {
        Type::Array(Rc::new(element))
    }

    /// The union of `types`: flattened, without repeats; `Unknown` absorbs everything.
    pub fn union(types: impl IntoIterator<Item = Type>) -> Type {
        let mut members: Vec<Type> = Vec::new();
        for ty in types {
            match ty {
                Type::Unknown => return Type::Unknown,
                Type::Union(inner) => {
                    for t in inner {
                        if !members.contains(&t) {
                            members.push(t);
                        }
                    }
                }
                t if members.contains(&t) => {}
                t => members.push(t),
            }
        }
        match members.len() {
            0 => Type::Unknown,
            1 => members.remove(0),
            _ => Type::Union(members),
        }
    }

    /// This type or `none`.
    pub fn nullable(self) -> Type {
        Type::union([self, Type::Null])
    }

    /// The members of a union, or the type itself.
    pub fn members(&self) -> &[Type] {
        match self {
            Type::Union(members) => members,
            other => std::slice::from_ref(other),
        }
    }

    /// The type without `none` (and without `null` among enum values).
    pub fn non_null(&self) -> Type {
        match self {
            Type::Null => return Type::Unknown,
            Type::Union(_) | Type::Enum(_) => {}
            other => return other.clone(),
        }
        Type::union(self.members().iter().filter_map(|t| match t {
            Type::Null => None,
            Type::Enum(values) => {
                let kept: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
                (!kept.is_empty()).then_some(Type::Enum(kept))
            }
            t => Some(t.clone()),
        }))
    }

    /// Whether nothing is known about it.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Type::Unknown)
    }

    /// Whether it is (only) `none`, a boolean, a number, a string or an enum.
    pub fn is_scalar(&self) -> bool {
        self.members().iter().all(|t| {
            matches!(
                t,
                Type::Null | Type::Bool | Type::Integer | Type::Number | Type::String
            ) || matches!(t, Type::Enum(values) if values.iter().all(|v| !v.is_object() && !v.is_array()))
        })
    }

    /// Reading property `name`.
    pub fn property(&self, name: &str) -> Lookup {
        if let Type::Object(object) = self {
            if let Some(field) = object.fields.get(name) {
                return Lookup::Found(field.ty.clone(), field.required);
            }
        }
        let members = self.non_null();
        let mut found: Vec<(Type, bool)> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for member in members.members() {
            match member {
                Type::Unknown => return Lookup::Found(Type::Unknown, true),
                Type::Object(object) => match object.fields.get(name) {
                    Some(field) => found.push((field.ty.clone(), field.required)),
                    None if object.open => return Lookup::Found(Type::Unknown, true),
                    None => names.extend(object.fields.keys().cloned()),
                },
                _ => {}
            }
        }
        if !found.is_empty() {
            let required = found.iter().all(|(_, r)| *r);
            return Lookup::Found(Type::union(found.into_iter().map(|(t, _)| t)), required);
        }
        let any_object = members
            .members()
            .iter()
            .any(|t| matches!(t, Type::Object(_)));
        if any_object {
            names.sort();
            names.dedup();
            Lookup::Missing(names)
        } else {
            Lookup::NotAnObject
        }
    }

    /// The element type when iterating: `Some` for a list (or `Unknown`), `None` otherwise.
    pub fn element(&self) -> Option<Type> {
        let members = self.non_null();
        let mut elements = Vec::new();
        for member in members.members() {
            match member {
                Type::Unknown => return Some(Type::Unknown),
                Type::Array(element) => elements.push((**element).clone()),
                _ => return None,
            }
        }
        (!elements.is_empty()).then(|| Type::union(elements))
    }

    /// "a string", "an integer", "one of `a`, `b`", "an array", … for messages.
    pub fn describe(&self) -> String {
        match self {
            Type::Unknown => "anything".into(),
            Type::Null => "none".into(),
            Type::Bool => "a boolean".into(),
            Type::Integer => "an integer".into(),
            Type::Number => "a number".into(),
            Type::String => "a string".into(),
            Type::Enum(values) => format!("one of {}", list_values(values)),
            Type::Array(_) => "an array".into(),
            Type::Object(_) => "an object".into(),
            Type::Union(members) => {
                let parts: Vec<String> = members.iter().map(Type::describe).collect();
                parts.join(" or ")
            }
        }
    }
}

/// `` `a`, `b`, `c` `` for enum values (strings bare, others as JSON).
pub fn list_values(values: &[Value]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| format!("`{}`", value_text(v)))
        .collect();
    parts.join(", ")
}

/// A value as a user would write it: strings bare, others as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unions_flatten_and_unknown_absorbs() {
        let t = Type::union([Type::String, Type::union([Type::Null, Type::String])]);
        assert_eq!(t, Type::Union(vec![Type::String, Type::Null]));
        assert_eq!(Type::union([Type::String, Type::Unknown]), Type::Unknown);
        assert_eq!(t.non_null(), Type::String);
    }

    #[test]
    fn properties_of_objects_unions_and_scalars() {
        let t = Type::object([("items", Type::array(Type::String))]).nullable();
        assert_eq!(
            t.property("items"),
            Lookup::Found(Type::array(Type::String), true)
        );
        assert_eq!(t.property("itemz"), Lookup::Missing(vec!["items".into()]));
        assert_eq!(Type::String.property("x"), Lookup::NotAnObject);
        assert_eq!(
            Type::open_object().property("x"),
            Lookup::Found(Type::Unknown, true)
        );
        let e = Type::Enum(vec![json!("a"), json!(null)]);
        assert_eq!(e.non_null(), Type::Enum(vec![json!("a")]));
        assert_eq!(e.describe(), "one of `a`, `null`");
    }
}
