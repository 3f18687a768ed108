//! The Responses API as codex speaks it to its model provider: reading what a request
//! asks (`POST /v1/responses`: the turn's prompt, its output schema) and writing a
//! response as the SSE events codex reads. The record/replay server and the mock model
//! (feature `testing`) both speak it.

use serde_json::{Value, json};

/// The text of every message of `role` in a request body's `input`, oldest first.
pub fn texts_of_role(body: &Value, role: &str) -> Vec<String> {
    input(body)
        .iter()
        .filter(|item| item["role"] == role)
        .filter_map(message_text)
        .collect()
}

/// The text of the last user message of a request body: the prompt of the current turn.
pub fn last_user_text(body: &Value) -> Option<String> {
    texts_of_role(body, "user").pop()
}

/// The JSON Schema of the turn's output (`text.format.schema`), if the request has one.
pub fn output_schema(body: &Value) -> Option<&Value> {
    let format = &body["text"]["format"];
    (format["type"] == "json_schema").then_some(&format["schema"])
}

/// A request body's input items (`input`): the whole conversation so far.
pub fn input(body: &Value) -> &[Value] {
    body["input"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The text of a `message` input item (its parts joined), or `None` for other items.
pub fn message_text(item: &Value) -> Option<String> {
    if item["type"] != "message" {
        return None;
    }
    let parts = item["content"].as_array()?;
    let text: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
    Some(text.join(""))
}

/// The SSE events of a response `id` whose output is `items`: `response.created`, each
/// item's events ([`item_events`]), then `response.completed` with `usage`.
pub fn response_events(id: &str, items: &[Value], usage: &Value) -> Vec<Value> {
    let mut events = vec![created(id)];
    for (at, item) in items.iter().enumerate() {
        events.extend(item_events(item, at));
    }
    events.push(json!({"type": "response.completed", "response": {"id": id, "usage": usage}}));
    events
}

/// `response.created` for response `id`.
pub fn created(id: &str) -> Value {
    json!({"type": "response.created", "response": {"id": id}})
}

/// One SSE frame.
pub fn frame(event: &Value) -> String {
    let kind = event["type"].as_str().unwrap_or("message");
    format!("event: {kind}\ndata: {event}\n\n")
}

/// The events of one finished output item at `output_index`. An assistant message is
/// streamed (`output_item.added`, one `output_text.delta` per word, `output_item.done`);
/// any other item (a tool call, reasoning) is sent whole in `output_item.done`.
pub fn item_events(item: &Value, output_index: usize) -> Vec<Value> {
    let done =
        json!({"type": "response.output_item.done", "output_index": output_index, "item": item});
    let text = item["content"][0]["text"].as_str();
    let (true, Some(text)) = (item["type"] == "message", text) else {
        return vec![done];
    };
    let id = item["id"].clone();
    let mut added_item = item.clone();
    added_item["status"] = json!("in_progress");
    added_item["content"] = json!([]);
    let added = json!({"type": "response.output_item.added", "output_index": output_index, "item": added_item});
    let deltas = split_words(text).into_iter().map(|delta| {
        json!({"type": "response.output_text.delta", "item_id": id, "output_index": output_index,
               "content_index": 0, "delta": delta})
    });
    std::iter::once(added).chain(deltas).chain([done]).collect()
}

/// Split after each space, so the pieces concatenate back to `text` exactly.
fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (at, _) in text.match_indices(' ') {
        pieces.push(&text[start..=at]);
        start = at + 1;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_concatenate_back_to_the_text() {
        let text = "one two  three";
        assert_eq!(split_words(text).concat(), text);
        assert_eq!(split_words(text).len(), 4);
    }

    #[test]
    fn a_request_tells_its_prompt_and_schema() {
        let body = json!({
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second"}]}
            ],
            "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}
        });
        assert_eq!(last_user_text(&body).as_deref(), Some("second"));
        assert_eq!(output_schema(&body), Some(&json!({"type": "object"})));
        assert_eq!(output_schema(&json!({"input": []})), None);
    }
}
