//! `weft run` end to end: the weft binary, the real `codex app-server`, the mock model.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::{TestEnv, codex_bin, within_for};
use weft::mock::{MockReply, MockRequest};

/// Runs `weft ARGS` in the environment's work directory; its output.
async fn weft(env: &TestEnv, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_weft"));
    cmd.args(args)
        .current_dir(env.work())
        .env("CODEX_BIN", codex_bin())
        .env("CODEX_HOME", env.codex_home())
        .env("TMPDIR", env.tmp())
        .kill_on_drop(true);
    within_for(Duration::from_secs(120), cmd.output())
        .await
        .expect("run weft")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write workflow");
    path.display().to_string()
}

fn json_stdout(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn marker(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

const FOUR_STEPS: &str = r#"
name: four
threads:
  planner: { developer_instructions: Plan only. }
steps:
  survey:
    thread: planner
    prompt: SURVEY the module
    output_schema:
      type: object
      required: [items]
      additionalProperties: false
      properties: { items: { type: array, items: { type: string } } }
  plan:
    thread: planner
    prompt: PLAN {{ steps.survey.output.items | length }} items
  edit:
    prompt: EDIT following {{ steps.plan.output }}
  check:
    prompt: CHECK {{ steps.survey.output.items | join(",") }}
outputs:
  items: "{{ steps.survey.output.items }}"
  said: "{{ steps.check.output }}"
"#;

fn four_step_model(request: &MockRequest) -> MockReply {
    let text = marker(request);
    if text.starts_with("SURVEY") {
        MockReply::Json(json!({"items": ["parse", "render", "check"]}))
    } else if text.starts_with("PLAN") {
        MockReply::text("two files: parse.rs and render.rs")
    } else if text.starts_with("EDIT") {
        MockReply::text("edited")
    } else {
        MockReply::text("checked {{ 7*7 }}")
    }
}

#[tokio::test]
async fn a_named_thread_carries_history_and_fresh_threads_do_not() {
    let env = TestEnv::start(four_step_model).await;
    let file = write(&env.work(), "four.yaml", FOUR_STEPS);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["outputs"]["items"], json!(["parse", "render", "check"]));
    assert_eq!(report["outputs"]["said"], json!("checked {{ 7*7 }}"));
    let steps = &report["steps"];
    assert_eq!(steps["survey"]["thread_id"], steps["plan"]["thread_id"]);
    assert_ne!(steps["edit"]["thread_id"], steps["plan"]["thread_id"]);
    assert_ne!(steps["check"]["thread_id"], steps["plan"]["thread_id"]);

    let requests = env.mock.requests();
    let find = |prefix: &str| {
        requests
            .iter()
            .find(|r| marker(r).starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} request"))
            .clone()
    };
    let plan = find("PLAN");
    assert_eq!(marker(&plan), "PLAN 3 items");
    assert!(plan.user_texts().iter().any(|t| t == "SURVEY the module"));
    assert!(plan.assistant_texts().iter().any(|t| t.contains("parse")));
    assert!(plan.contains("Plan only."), "developer instructions reach the model");
    let edit = find("EDIT");
    assert_eq!(marker(&edit), "EDIT following two files: parse.rs and render.rs");
    assert!(!edit.contains("SURVEY the module"), "a fresh thread has no history");
    assert_eq!(marker(&find("CHECK")), "CHECK parse,render,check");
    assert!(find("SURVEY").output_schema().is_some());
    assert!(plan.output_schema().is_none(), "the schema is for its own turn only");
}
