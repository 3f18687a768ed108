//! [`Redact`]: a value that can mask the secrets it holds, in place. Types that weft
//! writes out (events, run records, cassettes) implement it field by field with
//! exhaustive patterns, so that a field added later does not compile until it is
//! redacted too.

use serde_json::{Map, Value};

use super::redactor::Redactor;

/// Masks the secrets a value holds.
pub trait Redact {
    /// Masks every secret of `redactor` in `self`.
    fn redact(&mut self, redactor: &Redactor);

    /// A copy of `self` with the secrets masked.
    fn redacted(&self, redactor: &Redactor) -> Self
    where
        Self: Clone,
    {
        let mut copy = self.clone();
        copy.redact(redactor);
        copy
    }
}

impl Redact for String {
    fn redact(&mut self, redactor: &Redactor) {
        if let std::borrow::Cow::Owned(masked) = redactor.redact(self) {
            *self = masked;
        }
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact(&mut self, redactor: &Redactor) {
        if let Some(value) = self {
            value.redact(redactor);
        }
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(&mut self, redactor: &Redactor) {
        for value in self {
            value.redact(redactor);
        }
    }
}

/// Strings anywhere in the document, object keys included.
impl Redact for Value {
    fn redact(&mut self, redactor: &Redactor) {
        match self {
            Value::String(s) => s.redact(redactor),
            Value::Array(items) => items.redact(redactor),
            Value::Object(map) => map.redact(redactor),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

impl Redact for Map<String, Value> {
    fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        let entries = std::mem::take(self);
        for (mut key, mut value) in entries {
            key.redact(redactor);
            value.redact(redactor);
            self.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_is_masked_in_values_and_keys() {
        let r = Redactor::new(["p4ssw0rd-xyz"]).expect("redactor");
        let mut doc = json!({
            "n": 3,
            "said": "the password is p4ssw0rd-xyz",
            "list": ["p4ssw0rd-xyz", true, null],
            "p4ssw0rd-xyz": {"nested": "x p4ssw0rd-xyz"},
        });
        doc.redact(&r);
        assert_eq!(
            doc,
            json!({
                "n": 3,
                "said": "the password is ***",
                "list": ["***", true, null],
                "***": {"nested": "x ***"},
            })
        );
    }
}
