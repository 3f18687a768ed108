//! Asking a gate's question on the terminal: [`TerminalGates`] is the gatekeeper of a run
//! whose stdin and stderr are a terminal. One question at a time; the live view is hidden
//! while a person answers. The question is shown without control characters (it may hold
//! model output). A reply a gate's `output_schema` refuses is refused with the error, and
//! the question asked again; the end of input leaves the gate waiting. And what a run that
//! stops at gates says about answering them.

use std::future::Future;
use std::io::{BufRead, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::engine::RunReport;
use crate::engine::event::Status;
use crate::engine::gate::{GateQuestion, Gatekeeper, check_reply};
use crate::engine::spec::{GateAnswer, Kind};
use crate::report::LivePause;

/// Asks gates on a terminal (or any line reader and writer, for tests).
pub(super) struct TerminalGates {
    /// The input, until the first question starts a thread that reads it.
    input: Mutex<Option<Box<dyn BufRead + Send>>>,
    /// Lines read from the input by that thread (a read cannot be cancelled).
    lines: tokio::sync::Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    out: Arc<Mutex<dyn Write + Send>>,
    pause: Option<LivePause>,
}

impl TerminalGates {
    /// Reads answers from `input` and writes questions to `out`; `pause` hides the live
    /// view while a question is open.
    pub fn new(
        input: impl BufRead + Send + 'static,
        out: Arc<Mutex<dyn Write + Send>>,
        pause: Option<LivePause>,
    ) -> Self {
        Self {
            input: Mutex::new(Some(Box::new(input))),
            lines: tokio::sync::Mutex::new(None),
            out,
            pause,
        }
    }

    /// The lines of the input, read by a thread started on first use.
    fn reader(&self) -> mpsc::UnboundedReceiver<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        let input = self.input.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(input) = input {
            std::thread::spawn(move || {
                for line in input.lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        rx
    }

    fn say(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }
}

impl Gatekeeper for Arc<TerminalGates> {
    fn ask(
        &self,
        question: GateQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<GateAnswer>> + Send>> {
        let gates = self.clone();
        Box::pin(async move {
            let mut lines = gates.lines.lock().await;
            let lines = lines.get_or_insert_with(|| gates.reader());
            let _paused = gates.pause.as_ref().map(Paused::new);
            converse(&gates, lines, &question).await
        })
    }
}

/// The live view hidden while a question is open, shown again when the question closes
/// (answered, or abandoned: the run was stopped).
struct Paused(LivePause);

impl Paused {
    fn new(pause: &LivePause) -> Self {
        pause.pause();
        Paused(pause.clone())
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.0.resume();
    }
}

/// The conversation of one question; `None` when the input ended.
async fn converse(
    gates: &TerminalGates,
    lines: &mut mpsc::UnboundedReceiver<String>,
    question: &GateQuestion,
) -> Option<GateAnswer> {
    let name = match question.index {
        Some(i) => format!("{}#{i}", question.step),
        None => question.step.clone(),
    };
    gates.say(&format!("\n[{name}] {}\n", printable(&question.question)));
    loop {
        gates.say("approve? [y/n] ");
        let approved = match lines.recv().await?.trim().to_lowercase().as_str() {
            "y" | "yes" => true,
            "n" | "no" => false,
            _ => continue,
        };
        let ask = match (&question.schema, approved) {
            (Some(_), true) => "reply (JSON that matches the gate's output schema): ",
            _ => "reply (optional; Enter for none): ",
        };
        gates.say(ask);
        let reply = lines.recv().await?;
        let answer = GateAnswer {
            approved,
            reply: (!reply.trim().is_empty()).then_some(reply),
        };
        match check_reply(&answer, question.schema.as_deref()) {
            Ok(_) => return Some(answer),
            Err(why) => gates.say(&format!("refused: {why}\n")),
        }
    }
}

/// What a run that waits at gates says at its end: for each gate that waits, how to
/// approve or reject it (empty when none waits).
pub(super) fn waiting_note(report: &RunReport, hint: &str) -> String {
    let mut note = String::new();
    let gates = report
        .steps
        .iter()
        .filter(|s| s.kind == Kind::Gate && s.status == Status::Waiting);
    for gate in gates {
        let step = &gate.id;
        note.push_str(&format!(
            "gate `{step}` waits for an answer\n\
             to approve: {hint} --approve {step} [--reply TEXT | --reply-file FILE]\n\
             to reject:  {hint} --reject {step} [--reply TEXT]\n"
        ));
    }
    note
}

/// `text` without control characters but newlines and tabs (a question may carry model
/// output, which must not drive the terminal).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::output::OutputSchema;
    use serde_json::json;

    fn ask(input: &str, schema: Option<serde_json::Value>) -> (Option<GateAnswer>, String) {
        let out: Arc<Mutex<Vec<u8>>> = Arc::default();
        let gates = Arc::new(TerminalGates::new(
            std::io::Cursor::new(input.to_string()),
            out.clone(),
            None,
        ));
        let question = GateQuestion {
            step: "ship".into(),
            index: None,
            question: "Ship it?\x1b[2J now".into(),
            schema: schema.map(|s| Arc::new(OutputSchema::new(&s).unwrap())),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = runtime.block_on(gates.ask(question));
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        (answer, text)
    }

    #[test]
    fn asks_until_the_answer_is_usable_and_waits_when_input_ends() {
        let (answer, text) = ask("maybe\ny\nlooks good\n", None);
        assert_eq!(
            answer,
            Some(GateAnswer {
                approved: true,
                reply: Some("looks good".into())
            })
        );
        assert!(text.contains("[ship] Ship it? [2J now"), "{text}");
        assert_eq!(text.matches("approve? [y/n]").count(), 2, "{text}");
        let schema =
            json!({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}});
        let (answer, text) = ask("y\n{\"n\": \"x\"}\ny\n{\"n\": 3}\n", Some(schema));
        assert_eq!(answer.unwrap().reply.as_deref(), Some("{\"n\": 3}"));
        assert!(text.contains("refused: the reply does not match"), "{text}");
        let (answer, _) = ask("n\n\n", None);
        assert_eq!(
            answer,
            Some(GateAnswer {
                approved: false,
                reply: None
            })
        );
        assert_eq!(ask("y\n", None).0, None, "the input ended before the reply");
    }
}
