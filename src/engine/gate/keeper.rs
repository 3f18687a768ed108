//! Who answers a gate while the run goes on: a [`Gatekeeper`]. The command line gives one
//! that asks on the terminal; [`NoGatekeeper`] (off a terminal) answers nothing, and the
//! gate waits for `weft resume --approve`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::engine::output::OutputSchema;
use crate::engine::spec::GateAnswer;

/// A gate's question.
#[derive(Clone)]
pub struct GateQuestion {
    pub step: String,
    /// The fan-out element, for a gate with `for_each`.
    pub index: Option<usize>,
    /// The rendered question.
    pub question: String,
    /// The schema an approving reply must match (then it is JSON).
    pub schema: Option<Arc<OutputSchema>>,
}

/// Answers gates while the run goes on.
pub trait Gatekeeper: Send + Sync {
    /// The answer to `question`, or `None` when nobody here can give one (the gate waits).
    /// Dropping the future abandons the question (the run was stopped, or timed out).
    fn ask(
        &self,
        question: GateQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<GateAnswer>> + Send>>;
}

/// Answers nothing: every gate without an answer given before the run waits.
pub struct NoGatekeeper;

impl Gatekeeper for NoGatekeeper {
    fn ask(
        &self,
        _question: GateQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<GateAnswer>> + Send>> {
        Box::pin(async { None })
    }
}

/// The output of an approving answer: with a schema, the reply parsed as JSON and checked
/// (the error says why it is refused); else `{"approved": true, "reply": …}`.
pub fn check_reply(answer: &GateAnswer, schema: Option<&OutputSchema>) -> Result<Value, String> {
    let Some(schema) = schema.filter(|_| answer.approved) else {
        return Ok(json!({ "approved": answer.approved, "reply": answer.reply }));
    };
    let text = answer.reply.as_deref().unwrap_or("");
    let value: Value = serde_json::from_str(text.trim()).map_err(|e| {
        if text.trim().is_empty() {
            "the gate has an `output_schema`: approve it with a JSON reply that matches it"
                .to_string()
        } else {
            format!("the reply is not json: {e}")
        }
    })?;
    schema
        .validate(&value)
        .map(|()| value)
        .map_err(|e| e.to_string().replace("the answer", "the reply"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_checked_against_the_schema_only_when_approving() {
        let schema = OutputSchema::new(&json!({
            "type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}
        }))
        .unwrap();
        let yes = |reply: &str| GateAnswer {
            approved: true,
            reply: Some(reply.into()),
        };
        assert_eq!(
            check_reply(&yes(r#"{"n": 2}"#), Some(&schema)),
            Ok(json!({"n": 2}))
        );
        let wrong = check_reply(&yes(r#"{"n": "two"}"#), Some(&schema)).unwrap_err();
        assert!(
            wrong.contains("does not match") && wrong.contains("/n"),
            "{wrong}"
        );
        let prose = check_reply(&yes("sure"), Some(&schema)).unwrap_err();
        assert!(prose.starts_with("the reply is not json"), "{prose}");
        let no = GateAnswer {
            approved: false,
            reply: Some("not now".into()),
        };
        assert_eq!(
            check_reply(&no, Some(&schema)),
            Ok(json!({"approved": false, "reply": "not now"}))
        );
        assert_eq!(
            check_reply(&yes("ok"), None),
            Ok(json!({"approved": true, "reply": "ok"}))
        );
    }
}
