//! The spanned YAML tree the parser builds: every value and every key knows its span.

use serde_json::{Map, Number, Value};

use super::source::Span;

/// A YAML value with the span of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value is written.
    pub span: Span,
    /// The value.
    pub kind: NodeKind,
}

/// The shape of a [`Node`] after YAML 1.2 core-schema resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; keys are nodes too.
    Map(Vec<(Node, Node)>),
}

/// One step of a path into a [`Node`]: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl Node {
    /// The node as JSON (non-string keys become their text; NaN and infinities become null).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Number((*i).into()),
            NodeKind::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.entry(key.key_text()).or_insert_with(|| value.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The text of a node used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Null => "null".into(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Seq(_) | NodeKind::Map(_) => "<collection>".into(),
        }
    }

    /// The entry under `key` in a mapping: the key node and the value node.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.key_text() == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The child at one path segment.
    pub fn child(&self, segment: &PathSegment) -> Option<&Node> {
        match (segment, &self.kind) {
            (PathSegment::Key(key), _) => self.entry(key).map(|(_, v)| v),
            (PathSegment::Index(i), NodeKind::Seq(items)) => items.get(*i),
            _ => None,
        }
    }

    /// Follow `path` as far as it goes; returns the deepest node reached.
    pub fn walk(&self, path: &[PathSegment]) -> &Node {
        let mut node = self;
        for segment in path {
            match node.child(segment) {
                Some(next) => node = next,
                None => break,
            }
        }
        node
    }

    /// The node at `path`, if there is one.
    fn at_mut(&mut self, path: &[PathSegment]) -> Option<&mut Node> {
        let mut node = self;
        for segment in path {
            node = match (segment, &mut node.kind) {
                (PathSegment::Key(key), NodeKind::Map(entries)) => entries
                    .iter_mut()
                    .find(|(k, _)| k.key_text() == *key)
                    .map(|(_, v)| v)?,
                (PathSegment::Index(i), NodeKind::Seq(items)) => items.get_mut(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Remove the node at `path` (its mapping entry or sequence item), if there is one.
    pub fn remove(&mut self, path: &[PathSegment]) {
        let Some((last, parent_path)) = path.split_last() else {
            return;
        };
        let Some(node) = self.at_mut(parent_path) else {
            return;
        };
        match (last, &mut node.kind) {
            (PathSegment::Key(key), NodeKind::Map(entries)) => {
                entries.retain(|(k, _)| k.key_text() != *key);
            }
            (PathSegment::Index(i), NodeKind::Seq(items)) if *i < items.len() => {
                items.remove(*i);
            }
            _ => {}
        }
    }

    /// Add `key: value` to the mapping at `path`, if there is one.
    pub fn insert(&mut self, path: &[PathSegment], key: &str, value: Node) {
        if let Some(Node {
            kind: NodeKind::Map(entries),
            ..
        }) = self.at_mut(path)
        {
            let key = Node {
                span: value.span,
                kind: NodeKind::Str(key.to_string()),
            };
            entries.push((key, value));
        }
    }

    /// A short name of the node's type for messages ("a string", "a mapping").
    pub fn describe(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}
