//! What the mock model answers, and the Responses API SSE events of an answer.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cassette::wire::{created, response_events};

/// Usage every mock response reports: input, output and total tokens.
pub const MOCK_USAGE: (u64, u64, u64) = (10, 5, 15);

/// The mock model's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum MockReply {
    /// An assistant message, streamed as one `output_text.delta` per word.
    Text(String),
    /// An assistant message whose text is this JSON (for output-schema turns).
    Json(Value),
    /// An `exec_command` tool call (`"login": false`). With `escalated`, it asks to run
    /// outside the sandbox, so codex requests approval under `on-request`. Codex runs it
    /// and sends another request ending in its `function_call_output`.
    Command {
        /// The shell command.
        cmd: String,
        /// Ask for `require_escalated` sandbox permissions.
        escalated: bool,
    },
    /// These output items, as they are (`message`, `function_call`, ...), in one response.
    Items(Vec<Value>),
    /// An HTTP error with this status and JSON body.
    Error {
        /// HTTP status code.
        status: u16,
        /// The JSON body.
        body: Value,
    },
    /// The inner reply after a delay.
    Delayed(Duration, Box<MockReply>),
    /// Start the stream and never finish it (until codex disconnects).
    Stall,
}

impl MockReply {
    /// Shorthand for [`MockReply::Text`].
    pub fn text(text: impl Into<String>) -> MockReply {
        MockReply::Text(text.into())
    }

    /// Shorthand for a [`MockReply::Command`] that does not escalate.
    pub fn command(cmd: impl Into<String>) -> MockReply {
        MockReply::Command {
            cmd: cmd.into(),
            escalated: false,
        }
    }
}

/// The SSE events of a complete answer to request number `n`.
pub(crate) fn events(reply: &MockReply, n: usize) -> Vec<Value> {
    let items = match reply {
        MockReply::Text(text) => vec![message_item(text, n)],
        MockReply::Json(value) => vec![message_item(&value.to_string(), n)],
        MockReply::Command { cmd, escalated } => vec![command_item(cmd, *escalated, n)],
        MockReply::Items(items) => items.clone(),
        MockReply::Error { .. } | MockReply::Delayed(..) | MockReply::Stall => Vec::new(),
    };
    let (input, output, total) = MOCK_USAGE;
    let usage = json!({
        "input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": total});
    response_events(&format!("resp_{n}"), &items, &usage)
}

/// The first events of a stream that never completes.
pub(crate) fn stall_events(n: usize) -> Vec<Value> {
    vec![created(&format!("resp_{n}"))]
}

fn message_item(text: &str, n: usize) -> Value {
    json!({"type": "message", "role": "assistant", "id": format!("msg_{n}"), "status": "completed",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

fn command_item(cmd: &str, escalated: bool, n: usize) -> Value {
    let mut arguments = json!({"cmd": cmd, "login": false});
    if escalated {
        arguments["sandbox_permissions"] = json!("require_escalated");
        arguments["justification"] = json!("the test asks for it");
    }
    json!({"type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
           "name": "exec_command", "arguments": arguments.to_string()})
}
