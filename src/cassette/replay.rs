//! Replay: answer each model request with the recorded answer of the same step, element,
//! attempt and request number, after checking it asks what the recording asked.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::diff::{json_diff, text_diff};
use super::format::{Answer, Cassette, ExchangeKey};
use super::server::{Shared, refuse};
use super::sse::{failed_body, replay_body};
use crate::redact::{Redact, Redactor};

/// The cassette being replayed and how strictly.
pub struct Replay {
    pub cassette: Cassette,
    /// A changed prompt or schema fails the request (the default); when false it is
    /// reported and the recorded answer is served anyway.
    pub strict: bool,
    /// The run's secrets: masked in each request before it is compared with the
    /// recording, which has them masked too.
    pub redactor: Redactor,
}

/// A request that differs from the cassette.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub key: ExchangeKey,
    /// `prompt`, `output schema`, or `answer` when nothing was recorded under the key.
    pub what: &'static str,
    /// A unified diff, cassette against this run (empty for a missing answer).
    pub diff: String,
}

impl Mismatch {
    /// One line: what differs, where.
    pub fn headline(&self) -> String {
        if self.what == "answer" {
            format!("the cassette has no answer for {}", self.key)
        } else {
            format!(
                "the {} of {} differs from the cassette",
                self.what, self.key
            )
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.diff.is_empty() {
            write!(f, "{}", self.headline())
        } else {
            write!(f, "{}:\n{}", self.headline(), self.diff.trim_end())
        }
    }
}

pub(super) fn answer(
    shared: &Shared,
    replay: &Replay,
    key: ExchangeKey,
    prompt: String,
    schema: Option<Value>,
) -> Response {
    let Some(recorded) = replay.cassette.find(&key) else {
        let mismatch = Mismatch {
            key,
            what: "answer",
            diff: String::new(),
        };
        let message = format!("weft replay: {}", mismatch.headline());
        shared.log().mismatches.push(mismatch);
        return refuse(message);
    };
    let prompt = prompt.redacted(&replay.redactor);
    let schema = schema.redacted(&replay.redactor);
    let mut found = Vec::new();
    if recorded.prompt != prompt {
        found.push(Mismatch {
            key: key.clone(),
            what: "prompt",
            diff: text_diff(&recorded.prompt, &prompt),
        });
    }
    if recorded.output_schema != schema {
        found.push(Mismatch {
            key: key.clone(),
            what: "output schema",
            diff: json_diff(recorded.output_schema.as_ref(), schema.as_ref()),
        });
    }
    let refused = replay.strict && !found.is_empty();
    let message = found
        .iter()
        .map(|m| format!("weft replay: {}", m.headline()))
        .collect::<Vec<_>>()
        .join("; ");
    let mut log = shared.log();
    log.mismatches.extend(found);
    if refused {
        return refuse(message);
    }
    log.served.push(key.clone());
    drop(log);
    serve(&recorded.answer, &key)
}

fn serve(answer: &Answer, key: &ExchangeKey) -> Response {
    let mut id = format!(
        "resp_{}_{}_{}_{}",
        key.turn.step,
        key.turn.index.map_or(String::new(), |i| i.to_string()),
        key.turn.attempt,
        key.request
    );
    if let Some(iteration) = key.turn.iteration {
        id.push_str(&format!("_i{iteration}"));
    }
    match answer {
        Answer::Response { output, usage } => sse(replay_body(&id, output, usage.as_ref())),
        Answer::Failed { event } => sse(failed_body(event.as_ref())),
        Answer::HttpError { status, body } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, body.clone()).into_response()
        }
    }
}

fn sse(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}
