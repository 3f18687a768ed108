//! One entry of the `env` allow-list as written: a bare name (`CI`), or a mapping that
//! can mark the variable secret (`{ name: GH_TOKEN, secret: true }`). Both forms keep the
//! one list the only place a template's `env.NAME` is allowed, so a secret variable is
//! allowed and marked in the same line.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::diagnostic::{Diagnostic, Diagnostics};
use super::spanned::Spanned;

/// An `env` entry: the variable's name, and whether it is secret.
#[derive(Debug)]
pub enum RawEnvEntry {
    /// `- CI`
    Name(String),
    /// `- { name: GH_TOKEN, secret: true }`
    Entry(RawEnvMap),
}

/// The mapping form of an `env` entry.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvMap {
    pub name: Spanned<String>,
    pub secret: Option<Spanned<bool>>,
}

impl<'de> Deserialize<'de> for RawEnvEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = RawEnvEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an environment variable name, or `{ name: NAME, secret: true }`")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(RawEnvEntry::Name(name.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawEnvMap::deserialize(MapAccessDeserializer::new(map)).map(RawEnvEntry::Entry)
    }
}

/// The allow-listed names (with the span of each name) and those marked secret; a name
/// listed twice is an error. An empty name is the stand-in for one the schema check
/// already reported.
pub fn lower(
    entries: Vec<Spanned<RawEnvEntry>>,
    out: &mut Diagnostics,
) -> (Vec<Spanned<String>>, Vec<String>) {
    let mut names: Vec<Spanned<String>> = Vec::new();
    let mut secret = Vec::new();
    for entry in entries {
        let (name, is_secret) = match entry.value {
            RawEnvEntry::Name(name) => (Spanned::new(name, entry.span), false),
            RawEnvEntry::Entry(map) => (map.name, map.secret.is_some_and(|s| s.value)),
        };
        if name.value.is_empty() {
            continue;
        }
        if names.iter().any(|n| n.value == name.value) {
            out.push(
                Diagnostic::new(
                    name.span,
                    format!(
                        "environment variable `{}` is listed twice in `env`",
                        name.value
                    ),
                )
                .with_help("keep one entry; `{ name: NAME, secret: true }` marks it secret"),
            );
            continue;
        }
        if is_secret {
            secret.push(name.value.clone());
        }
        names.push(name);
    }
    (names, secret)
}
