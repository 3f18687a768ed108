//! Workflows that compose, end to end through the weft binary, the real `codex
//! app-server` and the mock model: prompt files and includes, sub-workflows (`uses`),
//! per-step agent settings, the run's own directory, joins and pools.

mod support;

use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::TestEnv;
use support::cli::{json_stdout, stderr, weft, write};
use weft::mock::{MockReply, MockRequest};

fn prompt(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

/// The first request whose prompt starts with `prefix`.
fn request(requests: &[MockRequest], prefix: &str) -> MockRequest {
    requests
        .iter()
        .find(|r| prompt(r).starts_with(prefix))
        .unwrap_or_else(|| panic!("no request starting with `{prefix}`"))
        .clone()
}

fn write_in(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const LINT: &str = r#"
inputs:
  target: { type: string }
  strict: { type: boolean, default: false }
steps:
  check:
    prompt: "CHECK {{ inputs.target }} strict={{ inputs.strict }}"
  fix:
    prompt: "FIX what {{ steps.check.output }} found"
outputs:
  verdict: "{{ steps.fix.output }}"
  strict: "{{ inputs.strict }}"
"#;

const CALLER: &str = r#"
steps:
  survey:
    prompt: SURVEY
  lint:
    uses: ./lint.yaml
    with: { target: "{{ steps.survey.output }}", strict: true }
  report:
    prompt: "REPORT {{ steps.lint.output.verdict }} {{ steps.lint.output.strict }}"
outputs:
  lint: "{{ steps.lint.output }}"
"#;

fn answers(request: &MockRequest) -> MockReply {
    let text = prompt(request);
    let word = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    MockReply::text(format!("{word}-done"))
}

#[tokio::test]
async fn a_sub_workflow_runs_as_part_of_the_run_and_gives_its_outputs() {
    let env = TestEnv::start(answers).await;
    write_in(&env.work(), "lint.yaml", LINT);
    let file = write(&env.work(), "main.yaml", CALLER);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    let requests = env.mock.requests();
    assert_eq!(
        prompt(&request(&requests, "CHECK")),
        "CHECK survey-done strict=True"
    );
    assert_eq!(
        prompt(&request(&requests, "FIX")),
        "FIX what check-done found"
    );
    assert_eq!(
        prompt(&request(&requests, "REPORT")),
        "REPORT fix-done True"
    );
    let steps = &report["steps"];
    let ids: Vec<&String> = steps.as_object().unwrap().keys().collect();
    assert_eq!(ids, ["survey", "lint", "lint/check", "lint/fix", "report"]);
    assert_eq!(
        steps["lint"]["output"],
        json!({"verdict": "fix-done", "strict": true})
    );
    assert_eq!(steps["lint/check"]["output"], json!("check-done"));
    assert_eq!(
        report["outputs"]["lint"],
        json!({"verdict": "fix-done", "strict": true})
    );
    let total: u64 = ["survey", "lint/check", "lint/fix", "report"]
        .iter()
        .map(|id| steps[id]["usage"]["total_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(
        report["usage"]["total_tokens"],
        json!(total),
        "the call is not counted twice"
    );
    assert_eq!(
        steps["lint"]["usage"]["total_tokens"],
        json!(
            steps["lint/check"]["usage"]["total_tokens"]
                .as_u64()
                .unwrap()
                + steps["lint/fix"]["usage"]["total_tokens"].as_u64().unwrap()
        )
    );
    let _: Value = report;
}
