//! Reading a Responses API SSE stream as it passes through, to record its answer; and
//! writing a recorded answer back as a stream.

use serde_json::Value;

use super::format::Answer;
use super::wire::{frame, response_events};

/// Collects the answer of one streamed response from its bytes, chunk by chunk.
#[derive(Debug, Default)]
pub struct SseCollector {
    buffer: String,
    output: Vec<Value>,
    usage: Option<Value>,
    completed: bool,
    last: Option<Value>,
}

impl SseCollector {
    /// Feeds the next chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        let normalized = self.buffer.replace("\r\n", "\n");
        self.buffer = normalized;
        while let Some(end) = self.buffer.find("\n\n") {
            let frame: String = self.buffer.drain(..end + 2).collect();
            self.frame(&frame);
        }
    }

    /// The answer, once the stream has ended.
    pub fn finish(mut self) -> Answer {
        if !self.buffer.trim().is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            self.frame(&rest);
        }
        if self.completed {
            Answer::Response {
                output: self.output,
                usage: self.usage,
            }
        } else {
            Answer::Failed { event: self.last }
        }
    }

    fn frame(&mut self, frame: &str) {
        let data: Vec<&str> = frame
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let Ok(event) = serde_json::from_str::<Value>(&data.join("\n")) else {
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
