//! `schemas/events.schema.json` describes every `RunEvent` weft can write, with every
//! optional field present and absent.

use std::path::Path;

use serde_json::{Value, json};
use weft::engine::agent::Usage;
use weft::engine::event::{RunEvent, Status};
use weft::engine::spec::Kind;

fn every_event(index: Option<usize>) -> Vec<RunEvent> {
    let step = || "s".to_string();
    let usage = Usage::default();
    vec![
        RunEvent::RunStarted {
            run_id: "r".into(),
            workflow: "w".into(),
            steps: 2,
        },
        RunEvent::StepStarted {
            step: step(),
            index,
            thread_id: index.map(|_| "t".into()),
            attempt: 1,
            prompt: index.map(|_| "p".into()),
            kind: if index.is_some() {
                Kind::Script
            } else {
                Kind::Turn
            },
            iteration: index.map(|_| 2),
            item: index.map(|i| serde_json::json!({"file": format!("f{i}.rs")})),
        },
        RunEvent::TurnDelta {
            step: step(),
            index,
            delta: "d".into(),
        },
        RunEvent::TurnActivity {
            step: step(),
            index,
            activity: "$ ls".into(),
        },
        RunEvent::TurnUsage {
            step: step(),
            index,
            usage,
        },
        RunEvent::ApprovalRequested {
            step: step(),
            index,
            kind: "file change".into(),
            subject: "a.rs".into(),
        },
        RunEvent::ApprovalDecided {
            step: step(),
            index,
            kind: "command".into(),
            subject: "ls".into(),
            approved: false,
            reason: "not allowed".into(),
        },
        RunEvent::StepRetrying {
            step: step(),
            index,
            attempt: 2,
            reason: "x".into(),
        },
        RunEvent::StepFinished {
            step: step(),
            index,
            status: Status::Failed,
            error: index.map(|_| "e".into()),
            output: index.map(|_| json!({"a": 1})),
            duration_ms: 1,
            usage,
            thread_id: index.map(|_| "t".into()),
            attempts: 1,
            reused: index.is_some(),
            kind: if index.is_some() {
                Kind::Gate
            } else {
                Kind::Turn
            },
            exit_code: index.map(|_| json!(3)),
            stderr: index.map(|_| json!("boom")),
            iterations: index.map(|_| json!(["a", "b"])),
            patch: index.map(|_| {
                Box::new(weft::engine::tree::Patch {
                    file: "patches/a.0.patch".into(),
                    base: "b".into(),
                    tree: "t".into(),
                    files: vec![weft::engine::tree::FileChange {
                        path: "src/a.rs".into(),
                        change: "added".into(),
                    }],
                    insertions: 3,
                    deletions: 0,
                })
            }),
            cached: index.is_some(),
            saved: index.map(|_| usage),
        },
        RunEvent::IterationFinished {
            step: step(),
            index,
            iteration: 1,
            status: Status::Succeeded,
            error: index.map(|_| "e".into()),
            output: json!({"n": 1}),
            duration_ms: 4,
            usage,
            thread_id: index.map(|_| "t".into()),
            attempts: 1,
            ended: index.is_some(),
        },
        RunEvent::GateWaiting {
            step: step(),
            index,
            question: "Ship it?".into(),
        },
        RunEvent::RunFinished {
            status: if index.is_some() {
                Status::Waiting
            } else {
                Status::Interrupted
            },
            duration_ms: 3,
            usage,
        },
    ]
}

#[test]
fn every_event_weft_writes_matches_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/events.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let defined = schema["$defs"].as_object().expect("$defs").len() - 1;
    let events = every_event(None);
    assert_eq!(events.len(), defined, "one definition per event type");
    for event in events.into_iter().chain(every_event(Some(0))) {
        let value = serde_json::to_value(&event).expect("serialize");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{value}\n{errors:#?}");
        let back: RunEvent = serde_json::from_value(value).expect("events read back");
        assert_eq!(back, event);
    }
}

#[test]
fn old_step_finished_lines_still_read() {
    let line = json!({"type": "step.finished", "step": "a", "status": "succeeded",
        "duration_ms": 5, "usage": Usage::default()});
    let event: RunEvent = serde_json::from_value(line).expect("reads");
    assert!(matches!(
        event,
        RunEvent::StepFinished {
            attempts: 0,
            reused: false,
            thread_id: None,
            ..
        }
    ));
}
