//! A cassette without secrets: recorded prompts, output schemas, answers (text, tool
//! calls and their JSON `arguments`, error bodies) and inputs have every secret masked
//! before the file is written. A replay masks the prompts it is sent the same way before
//! it compares them with the recording, so a cassette replays with the real secret, with
//! any other value of it, or with none (the stand-in `***`).

use super::format::{Answer, Cassette, Exchange};
use crate::redact::{Redact, Redactor};

impl Redact for Cassette {
    fn redact(&mut self, r: &Redactor) {
        let Cassette {
            weft_cassette: _,
            workflow,
            model,
            inputs,
            exchanges,
        } = self;
        workflow.redact(r);
        model.redact(r);
        inputs.redact(r);
        exchanges.redact(r);
    }
}

impl Redact for Exchange {
    fn redact(&mut self, r: &Redactor) {
        let Exchange {
            step,
            index: _,
            attempt: _,
            iteration: _,
            request: _,
            prompt,
            output_schema,
            answer,
        } = self;
        step.redact(r);
        prompt.redact(r);
        output_schema.redact(r);
        answer.redact(r);
    }
}

impl Redact for Answer {
    fn redact(&mut self, r: &Redactor) {
        match self {
            Answer::Response { output, usage } => {
                output.redact(r);
                usage.redact(r);
            }
            Answer::Failed { event } => event.redact(r),
            Answer::HttpError { status: _, body } => body.redact(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::CASSETTE_VERSION;
    use serde_json::json;

    #[test]
    fn a_saved_cassette_holds_no_secret_in_any_form() {
        let secret = "tok\"en\\Ü-4242";
        let arguments = json!({ "cmd": format!("echo '{secret}'") }).to_string();
        let mut cassette = Cassette {
            weft_cassette: CASSETTE_VERSION,
            workflow: "w".into(),
            model: None,
            inputs: json!({ "token": secret, "n": 3 })
                .as_object()
                .cloned()
                .unwrap(),
            exchanges: vec![Exchange {
                step: "a".into(),
                index: None,
                attempt: 1,
                iteration: None,
                request: 1,
                prompt: format!("use {secret}"),
                output_schema: None,
                answer: Answer::Response {
                    output: vec![
                        json!({ "type": "function_call", "arguments": arguments }),
                        json!({ "type": "message", "content": [{ "text": secret }] }),
                    ],
                    usage: None,
                },
            }],
        };
        cassette.redact(&Redactor::new([secret]).unwrap());
        let text = serde_json::to_string_pretty(&cassette).unwrap();
        for form in ["4242", "Ü", "\\u00dc"] {
            assert!(!text.contains(form), "{form} in {text}");
        }
        assert_eq!(cassette.inputs["token"], "***");
        assert_eq!(cassette.exchanges[0].prompt, "use ***");
        let Answer::Response { output, .. } = &cassette.exchanges[0].answer else {
            panic!("a response")
        };
        assert_eq!(output[0]["arguments"], r#"{"cmd":"echo '***'"}"#);
    }
}
