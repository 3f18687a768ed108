//! The cassette file: every model request of a run, keyed by step, fan-out element, loop
//! iteration, attempt and request number, with what the model answered. `schemas/cassette.json`
//! is its JSON Schema; the README documents it.
//!
//! A cassette is pretty-printed JSON so that a change reads well in a diff, and it is
//! stable: exchanges are sorted by their key (steps in plan order), item ids are derived
//! from the key, and nothing in it records a time, a path or a random id.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::agent::TurnLabel;

/// The cassette format version this weft writes and reads.
pub const CASSETTE_VERSION: u32 = 1;

/// A whole cassette file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Always [`CASSETTE_VERSION`].
    pub weft_cassette: u32,
    /// The workflow's `name`.
    pub workflow: String,
    /// The model the app-server used where a step names none (replay sets it again, so
    /// codex offers the model the same tools).
    pub model: Option<String>,
    /// The inputs of the recorded run; a replay uses them for inputs not given.
    pub inputs: Map<String, Value>,
    /// Every model request, sorted by key.
    pub exchanges: Vec<Exchange>,
}

/// One model request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The step id.
    pub step: String,
    /// The 0-based fan-out element, for a step with `for_each`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The loop iteration (from 1), for a step with `loop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
    /// The turn's attempt: 1, then one more per retry.
    pub attempt: u32,
    /// The request's number within its turn, from 1: a turn sends one more request after
    /// each batch of tool calls.
    pub request: u32,
    /// The turn's prompt as weft sent it (the last user message of the request).
    pub prompt: String,
    /// The output schema sent with the request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// What the model answered.
    pub answer: Answer,
}

/// What the model answered one request with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// A completed response: its output items (messages, tool calls, reasoning) and usage.
    Response {
        output: Vec<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Value>,
    },
    /// The stream ended without `response.completed` (`response.failed`, or cut off):
    /// the last event, if there was one.
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<Value>,
    },
    /// An HTTP error status and its body.
    HttpError { status: u16, body: String },
}

/// Where an exchange sits: step, element, attempt, request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExchangeKey {
    pub turn: TurnLabel,
    pub request: u32,
}

impl Exchange {
    /// The exchange's key.
    pub fn key(&self) -> ExchangeKey {
        ExchangeKey {
            turn: TurnLabel {
                step: self.step.clone(),
                index: self.index,
                iteration: self.iteration,
                attempt: self.attempt,
            },
            request: self.request,
        }
    }
}

impl std::fmt::Display for ExchangeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step `{}`", self.turn.step)?;
        if let Some(index) = self.turn.index {
            write!(f, " element {index}")?;
        }
        if let Some(iteration) = self.turn.iteration {
            write!(f, " iteration {iteration}")?;
        }
        write!(
            f,
            " (attempt {}, request {})",
            self.turn.attempt, self.request
        )
    }
}

/// Why a cassette could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    #[error("cannot read cassette `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cassette `{path}` is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("cassette `{path}` has version {found}; this weft reads version {CASSETTE_VERSION}")]
    Version { path: String, found: u32 },
    #[error("cannot write cassette `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Cassette {
    /// Reads and checks a cassette file.
    pub fn load(path: &Path) -> Result<Cassette, CassetteError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CassetteError::Read {
            path: shown.clone(),
            source,
        })?;
        let cassette: Cassette =
            serde_json::from_str(&text).map_err(|source| CassetteError::Parse {
                path: shown.clone(),
                source,
            })?;
        if cassette.weft_cassette != CASSETTE_VERSION {
            return Err(CassetteError::Version {
                path: shown,
                found: cassette.weft_cassette,
            });
        }
        Ok(cassette)
    }

    /// Sorts the exchanges (steps in `step_order`, then element, attempt, request) and
    /// writes the file atomically (a temporary file renamed over it).
    pub fn save(&mut self, path: &Path, step_order: &[String]) -> Result<(), CassetteError> {
        let rank = |step: &str| step_order.iter().position(|s| s == step);
        self.exchanges.sort_by_key(|e| (rank(&e.step), e.key()));
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        let write_err = |source| CassetteError::Write {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// The exchange recorded under `key`.
    pub fn find(&self, key: &ExchangeKey) -> Option<&Exchange> {
        self.exchanges.iter().find(|e| &e.key() == key)
    }
}

/// Makes a recorded answer stable: item ids and call ids derived from `key` instead of
/// the provider's random ones, and the opaque `encrypted_content` of reasoning items
/// dropped. A replay stays consistent: codex echoes back whatever ids it is served.
pub fn stabilize(output: &mut [Value], key: &ExchangeKey) {
    let mut slug = key.turn.step.clone();
    if let Some(index) = key.turn.index {
        slug.push_str(&format!("_{index}"));
    }
    if let Some(iteration) = key.turn.iteration {
        slug.push_str(&format!("_i{iteration}"));
    }
    slug.push_str(&format!("_{}_{}", key.turn.attempt, key.request));
    for (at, item) in output.iter_mut().enumerate() {
        let Value::Object(map) = item else { continue };
        if let Some(Value::String(id)) = map.get("id") {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or("item");
            let prefix = id.split_once('_').map_or(kind, |(p, _)| p).to_string();
            map.insert("id".into(), Value::String(format!("{prefix}_{slug}_{at}")));
        }
        if map.contains_key("call_id") {
            map.insert("call_id".into(), Value::String(format!("call_{slug}_{at}")));
        }
        map.remove("encrypted_content");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(step: &str, index: Option<usize>) -> ExchangeKey {
        ExchangeKey {
            turn: TurnLabel {
                step: step.into(),
                index,
                iteration: None,
                attempt: 1,
            },
            request: 2,
        }
    }

    #[test]
    fn stable_ids_come_from_the_key() {
        let mut output = vec![
            json!({"type": "reasoning", "id": "rs_8f2a", "encrypted_content": "gAAA", "summary": []}),
            json!({"type": "function_call", "id": "fc_77", "call_id": "call_x9", "name": "exec_command"}),
        ];
        stabilize(&mut output, &key("split", Some(0)));
        assert_eq!(
            output,
            vec![
                json!({"type": "reasoning", "id": "rs_split_0_1_2_0", "summary": []}),
                json!({"type": "function_call", "id": "fc_split_0_1_2_1", "call_id": "call_split_0_1_2_1", "name": "exec_command"}),
            ]
        );
    }

    #[test]
    fn keys_read_as_the_user_wrote_the_step() {
        assert_eq!(
            key("split", Some(2)).to_string(),
            "step `split` element 2 (attempt 1, request 2)"
        );
        assert_eq!(
            key("plan", None).to_string(),
            "step `plan` (attempt 1, request 2)"
        );
    }

    #[test]
    fn save_sorts_by_plan_order_then_key_and_load_reads_it_back() {
        let exchange = |step: &str, request| Exchange {
            step: step.into(),
            index: None,
            iteration: None,
            attempt: 1,
            request,
            prompt: format!("{step} prompt"),
            output_schema: None,
            answer: Answer::HttpError {
                status: 500,
                body: "boom".into(),
            },
        };
        let mut cassette = Cassette {
            weft_cassette: CASSETTE_VERSION,
            workflow: "w".into(),
            model: None,
            inputs: Map::new(),
            exchanges: vec![exchange("b", 2), exchange("a", 1), exchange("b", 1)],
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.cassette.json");
        cassette
            .save(&path, &["b".into(), "a".into()])
            .expect("save");
        let loaded = Cassette::load(&path).expect("load");
        let order: Vec<(String, u32)> = loaded
            .exchanges
            .iter()
            .map(|e| (e.step.clone(), e.request))
            .collect();
        assert_eq!(
            order,
            vec![("b".into(), 1), ("b".into(), 2), ("a".into(), 1)]
        );
        assert_eq!(loaded, cassette);
    }
}
