//! Reading a Responses API SSE stream as it passes through, to record its answer; and
//! writing a recorded answer back as a stream.

use serde_json::Value;

use super::format::Answer;
use super::wire::{frame, response_events};

/// Collects the answer of one streamed response from its bytes, chunk by chunk.
///
/// The stream is cut into lines on bytes (`\n`, `\r\n` or `\r`, as the SSE format
/// allows) and an event's `data` is decoded only once the blank line that ends it has
/// arrived, so a character split between two network chunks is never damaged. Each
/// byte is looked at once.
#[derive(Debug, Default)]
pub struct SseCollector {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    after_cr: bool,
    output: Vec<Value>,
    usage: Option<Value>,
    completed: bool,
    last: Option<Value>,
}

impl SseCollector {
    /// Feeds the next chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
            }
        }
        while let Some(end) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            let line = std::mem::take(&mut self.line);
            self.on_line(&line);
            self.line = line;
            self.line.clear();
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// The answer, once the stream has ended.
    pub fn finish(mut self) -> Answer {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line);
        }
        self.dispatch();
        if self.completed {
            Answer::Response {
                output: self.output,
                usage: self.usage,
            }
        } else {
            Answer::Failed { event: self.last }
        }
    }

    /// One line of the stream, without its end: a field of the current event, or the
    /// blank line that ends it.
    fn on_line(&mut self, line: &[u8]) {
        if line.is_empty() {
            self.dispatch();
        } else if let Some(value) = line.strip_prefix(b"data") {
            let value = match value {
                [] => value,
                [b':', b' ', rest @ ..] | [b':', rest @ ..] => rest,
                _ => return,
            };
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
    }

    /// The event whose fields have been read: decoded here, whole.
    fn dispatch(&mut self) {
        if !std::mem::take(&mut self.has_data) {
            return;
        }
        let data = std::mem::take(&mut self.data);
        let Ok(event) = serde_json::from_slice::<Value>(&data) else {
            return;
        };
        match event["type"].as_str().unwrap_or_default() {
            "response.output_item.done" => self.output.push(event["item"].clone()),
            "response.completed" => {
                self.completed = true;
                self.usage = Some(event["response"]["usage"].clone()).filter(|u| !u.is_null());
            }
            _ => {}
        }
        self.last = Some(event);
    }
}

/// The SSE body that replays a recorded response (`id` names it).
pub fn replay_body(id: &str, output: &[Value], usage: Option<&Value>) -> String {
    let usage = usage.cloned().unwrap_or(Value::Null);
    response_events(id, output, &usage)
        .iter()
        .map(frame)
        .collect()
}

/// The SSE body that replays a stream which ended without completing.
pub fn failed_body(event: Option<&Value>) -> String {
    event.map(frame).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_replayed_answer_records_as_the_same_answer_whatever_the_chunking() {
        let output = vec![
            json!({"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                   "content": [{"type": "output_text", "text": "two words", "annotations": []}]}),
            json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "exec_command",
                   "arguments": "{\"cmd\":\"ls\"}"}),
        ];
        let usage = json!({"input_tokens": 3, "output_tokens": 2, "total_tokens": 5});
        let body = replay_body("resp_1", &output, Some(&usage));
        for size in [1, 7, body.len()] {
            let mut collector = SseCollector::default();
            for chunk in body.as_bytes().chunks(size) {
                collector.push(chunk);
            }
            assert_eq!(
                collector.finish(),
                Answer::Response {
                    output: output.clone(),
                    usage: Some(usage.clone())
                }
            );
        }
    }

    fn text_answer(text: &str) -> (Vec<Value>, Value) {
        let output = vec![
            json!({"type": "message", "role": "assistant", "id": "msg_1",
            "status": "completed", "content": [{"type": "output_text", "text": text}]}),
        ];
        (
            output,
            json!({"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}),
        )
    }

    fn collect<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Answer {
        let mut collector = SseCollector::default();
        for chunk in chunks {
            collector.push(chunk);
        }
        collector.finish()
    }

    #[test]
    fn text_in_any_script_survives_a_stream_delivered_one_byte_at_a_time() {
        let texts = [
            "Déjà vu — naïve façade, Ærøskøbing, «ça va?»",
            "中文的句子，日本語のテキスト、한국어 문장",
            "emoji 🦀🚀 with a family 👩‍👩‍👧 and flags 🇫🇷🇯🇵",
            "mixed: ü 汉 🎉 \u{10FFFF} end",
        ];
        for text in texts {
            let (output, usage) = text_answer(text);
            let body = replay_body("resp_1", &output, Some(&usage));
            assert!(body.contains(text), "the body carries the raw text");
            let expected = Answer::Response {
                output: output.clone(),
                usage: Some(usage.clone()),
            };
            assert_eq!(collect(body.as_bytes().chunks(1)), expected, "{text}");
            assert_eq!(collect(body.as_bytes().chunks(2)), expected, "{text}");
            assert_eq!(collect(body.as_bytes().chunks(3)), expected, "{text}");
        }
    }

    #[test]
    fn crlf_and_cr_line_ends_are_read_whatever_the_chunking() {
        let (output, usage) = text_answer("Grüße aus 東京 🗼");
        let body = replay_body("resp_1", &output, Some(&usage));
        let expected = Answer::Response {
            output,
            usage: Some(usage),
        };
        for end in ["\r\n", "\r"] {
            let converted = body.replace('\n', end);
            for size in [1, 2, 5, converted.len()] {
                let got = collect(converted.as_bytes().chunks(size));
                assert_eq!(got, expected, "line end {end:?}, chunks of {size}");
            }
        }
    }

    #[test]
    fn multi_line_data_and_other_fields_follow_the_sse_format() {
        let event = json!({"type": "response.failed", "response": {"error": {"message": "ça"}}});
        let pretty = serde_json::to_string_pretty(&event).unwrap();
        let mut body = String::from(": a comment\nevent: response.failed\nid: 7\n");
        for line in pretty.lines() {
            body.push_str(&format!("data:{line}\n"));
        }
        body.push('\n');
        let got = collect(body.as_bytes().chunks(1));
        assert_eq!(got, Answer::Failed { event: Some(event) });
    }

    #[test]
    fn a_stream_without_completion_is_a_failed_answer_with_its_last_event() {
        let failed =
            json!({"type": "response.failed", "response": {"error": {"message": "quota"}}});
        let mut collector = SseCollector::default();
        collector.push(failed_body(Some(&failed)).as_bytes());
        assert_eq!(
            collector.finish(),
            Answer::Failed {
                event: Some(failed)
            }
        );
    }
}
