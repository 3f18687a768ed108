//! A request the mock model received, with helpers to read what codex sent.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cassette::wire;

/// One logged `POST /v1/responses` request.
#[derive(Debug, Clone, PartialEq)]
pub struct MockRequest {
    /// 0-based arrival order.
    pub index: usize,
    /// The JSON body as codex sent it (`model`, `input`, `tools`, `text`, ...).
    pub body: Value,
    /// The HTTP headers, names in lower case (`authorization`, `thread-id`, ...).
    pub headers: BTreeMap<String, String>,
}

impl MockRequest {
    /// The value of the header `name` (lower case), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The input items (`input`): the whole conversation so far.
    pub fn input(&self) -> &[Value] {
        wire::input(&self.body)
    }

    /// The text of every user message, oldest first (codex's own context messages, such
    /// as `<environment_context>`, included).
    pub fn user_texts(&self) -> Vec<String> {
        wire::texts_of_role(&self.body, "user")
    }

    /// The text of the last user message: the prompt of the current turn.
    pub fn last_user_text(&self) -> Option<String> {
        wire::last_user_text(&self.body)
    }

    /// The text of every message in the input, any role, oldest first.
    pub fn input_texts(&self) -> Vec<String> {
        self.input().iter().filter_map(wire::message_text).collect()
    }

    /// The text of every assistant message in the input (earlier answers), oldest first.
    pub fn assistant_texts(&self) -> Vec<String> {
        wire::texts_of_role(&self.body, "assistant")
    }

    /// The JSON Schema of the turn's output (`text.format.schema`), if it has one.
    pub fn output_schema(&self) -> Option<&Value> {
        wire::output_schema(&self.body)
    }

    /// The outputs of the tool calls in the input (`function_call_output`), oldest first.
    pub fn function_call_outputs(&self) -> Vec<String> {
        self.input()
            .iter()
            .filter(|item| item["type"] == "function_call_output")
            .map(|item| match &item["output"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    /// Whether the input ends with a tool call's output: codex is asking what to do after
    /// running a command the mock asked for.
    pub fn is_after_tool_call(&self) -> bool {
        self.input()
            .last()
            .is_some_and(|item| item["type"] == "function_call_output")
    }

    /// Whether `needle` appears anywhere in the body.
    pub fn contains(&self, needle: &str) -> bool {
        self.body.to_string().contains(needle)
    }
}
