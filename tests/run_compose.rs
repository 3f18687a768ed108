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
    let table = stderr(&out);
    let total_line = table
        .lines()
        .find(|l| l.starts_with("total"))
        .unwrap_or_default();
    assert!(total_line.ends_with(&format!(" {total}")), "{table}");
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

/// The tool types a request offers the model (`function` tools by name).
fn tools(request: &MockRequest) -> Vec<String> {
    request.body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| match t["type"].as_str() {
            Some("function") => t["name"].as_str().unwrap_or_default().to_string(),
            other => other.unwrap_or_default().to_string(),
        })
        .collect()
}

/// The developer messages of a request, as text.
fn developer_texts(request: &MockRequest) -> Vec<String> {
    request
        .input()
        .iter()
        .filter(|item| item["role"] == "developer")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["text"].as_str().map(str::to_string))
        .collect()
}

const SETTINGS: &str = r#"
inputs:
  model: { type: string, default: model-from-input }
  effort: { type: enum, values: [low, high], default: high }
defaults:
  developer_instructions: Answer like a pirate.
  config: { web_search: disabled }
steps:
  plain:
    prompt: PLAIN
  searching:
    model: "{{ inputs.model }}"
    effort: "{{ inputs.effort }}"
    developer_instructions: Answer like a lawyer.
    config: { web_search: live }
    sandbox: workspace-write
    network: true
    prompt: SEARCHING
"#;

#[tokio::test]
async fn per_step_agent_settings_reach_the_thread_and_the_model() {
    let env = TestEnv::start(answers).await;
    let file = write(&env.work(), "settings.yaml", SETTINGS);
    let out = weft(
        &env,
        &["run", &file, "--input", "effort=low", "--output", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = env.mock.requests();
    let (plain, searching) = (request(&requests, "PLAIN"), request(&requests, "SEARCHING"));
    assert!(developer_texts(&plain).contains(&"Answer like a pirate.".to_string()));
    assert!(developer_texts(&searching).contains(&"Answer like a lawyer.".to_string()));
    assert!(
        !tools(&plain).contains(&"web_search".to_string()),
        "{:?}",
        tools(&plain)
    );
    assert!(
        tools(&searching).contains(&"web_search".to_string()),
        "{:?}",
        tools(&searching)
    );
    assert_eq!(searching.body["model"], json!("model-from-input"));
    assert_eq!(searching.body["reasoning"]["effort"], json!("low"));
    let permissions = |r: &MockRequest| {
        developer_texts(r)
            .into_iter()
            .find(|t| t.contains("<permissions instructions>"))
            .unwrap_or_default()
    };
    assert!(
        permissions(&searching).contains("Network access is enabled."),
        "{}",
        permissions(&searching)
    );
    assert!(
        !permissions(&plain).contains("Network access is enabled."),
        "{}",
        permissions(&plain)
    );
}

#[tokio::test]
async fn a_templated_effort_that_is_not_an_effort_stops_the_run_before_it_starts() {
    let env = TestEnv::start(answers).await;
    let file = write(
        &env.work(),
        "effort.yaml",
        "inputs:\n  effort: { type: string }\nsteps:\n  a:\n    effort: \"{{ inputs.effort }}\"\n    prompt: A\n",
    );
    let out = weft(&env, &["run", &file, "--input", "effort=hgh"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "error: step `a`: `effort` rendered to `hgh`, which is not one of none, minimal, low, medium, high, xhigh"
    );
    assert!(env.mock.requests().is_empty());
}

fn refusal() -> MockReply {
    MockReply::Error {
        status: 400,
        body: json!({"error": {"message": "refused by the test", "type": "invalid_request_error"}}),
    }
}

const THREADED_LINT: &str = r#"
inputs:
  target: { type: string }
threads:
  fixer: { developer_instructions: Fix carefully. }
steps:
  check:
    thread: fixer
    prompt: "CHECK {{ inputs.target }}"
  fix:
    thread: fixer
    prompt: "FIX what {{ steps.check.output }} found"
outputs:
  verdict: "{{ steps.fix.output }}"
"#;

const CALLS_THREADED: &str = r#"
steps:
  lint:
    uses: ./lint.yaml
    with: { target: src }
  report:
    prompt: "REPORT {{ steps.lint.output.verdict }}"
"#;

#[tokio::test]
async fn a_sub_workflow_is_reported_under_its_prefix_and_resumes_across_the_boundary() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let refuse = Arc::new(AtomicBool::new(true));
    let flag = refuse.clone();
    let env = TestEnv::start(move |r| match prompt(r) {
        p if p.starts_with("FIX") && flag.load(Ordering::SeqCst) => refusal(),
        _ => answers(r),
    })
    .await;
    write_in(&env.work(), "lint.yaml", THREADED_LINT);
    let file = write(&env.work(), "main.yaml", CALLS_THREADED);
    let junit = env.work().join("junit.xml");
    let events = env.work().join("events.jsonl");
    let args = [
        "run",
        &file,
        "--progress",
        "plain",
        "--junit",
        junit.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ];
    let out = weft(&env, &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let progress = stderr(&out);
    assert!(progress.contains("[lint/check] succeeded"), "{progress}");
    assert!(progress.contains("[lint/fix] failed"), "{progress}");
    assert!(progress.contains("[lint] failed in"), "{progress}");
    assert!(
        progress.contains("error: step `lint` failed: step `lint/fix` failed: the turn failed"),
        "{progress}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    for case in ["name=\"lint\"", "name=\"lint/check\"", "name=\"lint/fix\""] {
        assert!(xml.contains(case), "{case} in {xml}");
    }
    let logged = std::fs::read_to_string(&events).unwrap();
    assert!(
        logged.contains(r#""type":"step.finished","step":"lint/check""#),
        "{logged}"
    );

    let id = support::cli::run_ids(&env).pop().unwrap();
    let saved = support::cli::record(&env, &id);
    assert_eq!(
        support::cli::step_entry(&saved, "lint/check")["status"],
        "succeeded"
    );
    assert_eq!(support::cli::step_entry(&saved, "lint")["status"], "failed");
    let thread = support::cli::step_entry(&saved, "lint/check")["thread_id"].clone();

    refuse.store(false, Ordering::SeqCst);
    let before = env.mock.requests().len();
    let out = weft(&env, &["resume", &id, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    let steps = &report["steps"];
    assert_eq!(steps["lint/check"]["reused"], json!(true));
    assert_eq!(
        steps["lint/fix"]["thread_id"], thread,
        "the called workflow's thread continues"
    );
    assert_eq!(steps["lint"]["output"], json!({"verdict": "fix-done"}));
    let asked: Vec<String> = env.mock.requests()[before..].iter().map(prompt).collect();
    assert_eq!(asked, ["FIX what check-done found", "REPORT fix-done"]);
}

const JOINS: &str = r#"
steps:
  good:
    prompt: GOOD
  bad:
    prompt: BAD
  strict:
    needs: [good, bad]
    prompt: STRICT
  any:
    needs: [good, bad]
    join: any_succeeded
    prompt: ANY
  cleanup:
    needs: [good, bad]
    join: all_done
    prompt: "CLEANUP after {{ steps.bad.status }}"
"#;

#[tokio::test]
async fn joins_run_steps_after_failures_and_the_run_still_fails() {
    let env = TestEnv::start(|r| match prompt(r).as_str() {
        "BAD" => refusal(),
        _ => answers(r),
    })
    .await;
    let file = write(&env.work(), "joins.yaml", JOINS);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["status"], "failed");
    let status = |id: &str| report["steps"][id]["status"].clone();
    assert_eq!(status("strict"), json!("skipped"));
    assert_eq!(status("any"), json!("succeeded"));
    assert_eq!(status("cleanup"), json!("succeeded"));
    let requests = env.mock.requests();
    assert_eq!(
        prompt(&request(&requests, "CLEANUP")),
        "CLEANUP after failed"
    );
}

const HANDS_OVER: &str = r#"
steps:
  write:
    sandbox: workspace-write
    prompt: "WRITE {{ run.dir }}/notes.txt"
  read:
    needs: [write]
    prompt: READ notes.txt
"#;

/// `WRITE path` writes a file there, `READ name` reads it from `$WEFT_RUN_DIR`, with one
/// command each.
fn hands_over(request: &MockRequest) -> MockReply {
    let text = prompt(request);
    if request.is_after_tool_call() {
        return MockReply::text(request.function_call_outputs().join("\n"));
    }
    match text.split_once(' ') {
        Some(("WRITE", path)) => MockReply::command(format!("echo kept-between-steps > {path}")),
        Some(("READ", name)) => MockReply::command(format!("cat \"$WEFT_RUN_DIR/{name}\"")),
        _ => answers(request),
    }
}

#[tokio::test]
async fn steps_hand_files_over_in_the_runs_own_directory_kept_with_the_record() {
    let env = TestEnv::start(hands_over).await;
    let file = write(&env.work(), "hand.yaml", HANDS_OVER);
    let runs = env.dir.path().join("records");
    let runs_arg = runs.display().to_string();
    let out = weft(
        &env,
        &["run", &file, "--runs-dir", &runs_arg, "--output", "json"],
    )
    .await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    let id = report["run_id"].as_str().unwrap().to_string();
    let dir = runs.join(&id).join("files");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "kept-between-steps\n"
    );
    let read = report["steps"]["read"]["output"].as_str().unwrap();
    assert!(read.contains("kept-between-steps"), "{read}");
    let written = report["steps"]["write"]["output"].as_str().unwrap();
    assert!(
        written.contains("Process exited with code 0"),
        "outside the work directory, and writable: {written}"
    );
    let write = request(&env.mock.requests(), "WRITE");
    assert!(
        developer_texts(&write)
            .iter()
            .any(|t| t.contains("writable roots") && t.contains(&dir.display().to_string())),
        "the run's directory is a writable root of the turn: {:?}",
        developer_texts(&write)
    );
    let shown = weft(&env, &["runs", "show", &id, "--runs-dir", &runs_arg]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(&format!("files in {}:", dir.display())),
        "{text}"
    );
    assert!(
        text.contains("notes.txt") && text.contains("19 bytes"),
        "{text}"
    );
}

#[tokio::test]
async fn a_prompt_file_and_the_templates_it_includes_are_the_prompt() {
    let env = TestEnv::start(answers).await;
    write_in(
        &env.work(),
        "flows/prompts/review.md",
        "REVIEW {{ steps.survey.output }}\n{% include 'prompts/rules.md' %}\n{% import 'prompts/macros.md' as m %}{{ m.shout(inputs.topic) }}",
    );
    write_in(
        &env.work(),
        "flows/prompts/rules.md",
        "Rules for {{ workflow.name }}.",
    );
    write_in(
        &env.work(),
        "flows/prompts/macros.md",
        "{% macro shout(x) %}{{ x | upper }}!{% endmacro %}",
    );
    let file = write(
        &env.work().join("flows"),
        "review.yaml",
        "inputs:\n  topic: { type: string, default: tests }\nsteps:\n  survey:\n    prompt: SURVEY\n  review:\n    prompt_file: prompts/review.md\n",
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = env.mock.requests();
    assert_eq!(
        prompt(&request(&requests, "REVIEW")),
        "REVIEW survey-done\nRules for review.\nTESTS!"
    );
    let first = requests.iter().position(|r| prompt(r) == "SURVEY").unwrap();
    let second = requests
        .iter()
        .position(|r| prompt(r).starts_with("REVIEW"))
        .unwrap();
    assert!(
        first < second,
        "the prompt file reads `steps.survey`: it waits for it"
    );
}

#[tokio::test]
async fn a_pool_bounds_its_steps_beside_jobs() {
    let env = TestEnv::start(|r| {
        MockReply::Delayed(std::time::Duration::from_millis(300), Box::new(answers(r)))
    })
    .await;
    let file = write(
        &env.work(),
        "pool.yaml",
        "pools: { models: 2 }\nsteps:\n  a: { prompt: A, pool: models }\n  b: { prompt: B, pool: models }\n  c: { prompt: C, pool: models }\n  d: { prompt: D, pool: models }\n  e: { prompt: E, pool: models }\n",
    );
    let out = weft(&env, &["run", &file, "--jobs", "8", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.mock.requests().len(), 5);
    assert_eq!(
        env.mock.max_concurrency(),
        2,
        "the pool, not --jobs, bounds them"
    );
}

#[tokio::test]
async fn a_called_workflow_reads_its_own_prompt_files_and_includes() {
    let env = TestEnv::start(answers).await;
    write_in(&env.work(), "prompts/intro.md", "WRONG: the caller's file");
    write_in(
        &env.work(),
        "parts/prompts/intro.md",
        "from the part's directory",
    );
    write_in(
        &env.work(),
        "parts/prompts/task.md",
        "PART {% include 'prompts/intro.md' %} for {{ inputs.who }}",
    );
    write_in(
        &env.work(),
        "parts/part.yaml",
        "inputs:\n  who: { type: string }\nsteps:\n  task:\n    prompt_file: prompts/task.md\n",
    );
    let file = write(
        &env.work(),
        "main.yaml",
        "steps:\n  part:\n    uses: parts/part.yaml\n    with: { who: everyone }\n",
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = env.mock.requests();
    assert_eq!(
        prompt(&request(&requests, "PART")),
        "PART from the part's directory for everyone"
    );
}
