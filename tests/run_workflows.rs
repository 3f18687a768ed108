//! `weft run` end to end: the weft binary, the real `codex app-server`, the mock model.

mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::cli::{json_stdout, weft, write};
use support::{TestEnv, within_for};
use weft::mock::{MockReply, MockRequest};

fn marker(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

/// The first request whose prompt starts with `prefix`.
fn find(requests: &[MockRequest], prefix: &str) -> MockRequest {
    requests
        .iter()
        .find(|r| marker(r).starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} request"))
        .clone()
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
        MockReply::text("two files: parse.rs and render.rs {{ 7*7 }}")
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
    assert_eq!(
        report["outputs"]["items"],
        json!(["parse", "render", "check"])
    );
    assert_eq!(report["outputs"]["said"], json!("checked {{ 7*7 }}"));
    let steps = &report["steps"];
    assert_eq!(steps["survey"]["thread_id"], steps["plan"]["thread_id"]);
    assert_ne!(steps["edit"]["thread_id"], steps["plan"]["thread_id"]);
    assert_ne!(steps["check"]["thread_id"], steps["plan"]["thread_id"]);

    let requests = env.mock.requests();
    let find = |prefix: &str| find(&requests, prefix);
    let plan = find("PLAN");
    assert_eq!(marker(&plan), "PLAN 3 items");
    assert!(plan.user_texts().iter().any(|t| t == "SURVEY the module"));
    assert!(plan.assistant_texts().iter().any(|t| t.contains("parse")));
    assert!(
        plan.contains("Plan only."),
        "developer instructions reach the model"
    );
    let edit = find("EDIT");
    assert_eq!(
        marker(&edit),
        "EDIT following two files: parse.rs and render.rs {{ 7*7 }}",
        "model output is data, never rendered as a template"
    );
    assert!(
        !edit.contains("SURVEY the module"),
        "a fresh thread has no history"
    );
    assert_eq!(marker(&find("CHECK")), "CHECK parse,render,check");
    assert!(find("SURVEY").output_schema().is_some());
    assert!(
        plan.output_schema().is_none(),
        "the schema is for its own turn only"
    );
}

#[tokio::test]
async fn fan_out_runs_one_turn_per_element_within_max_parallel() {
    let env = TestEnv::start(|r| {
        let text = marker(r);
        if text.starts_with("LIST") {
            MockReply::Json(json!({"files": ["a.rs", "b.rs", "c.rs", "d.rs", "e.rs"]}))
        } else {
            let reply = MockReply::text(format!("done {}", text.trim_start_matches("MOVE ")));
            MockReply::Delayed(Duration::from_millis(300), Box::new(reply))
        }
    })
    .await;
    let file = write(
        &env.work(),
        "fan.yaml",
        r#"
steps:
  list:
    prompt: LIST the files
    output_schema:
      type: object
      required: [files]
      additionalProperties: false
      properties: { files: { type: array, items: { type: string } } }
  move:
    for_each: steps.list.output.files
    as: file
    max_parallel: 2
    prompt: MOVE {{ loop.index }} {{ file }}
"#,
    );
    let out = weft(&env, &["run", &file, "--output", "json", "--jobs", "8"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(
        report["steps"]["move"]["output"],
        json!([
            "done 1 a.rs",
            "done 2 b.rs",
            "done 3 c.rs",
            "done 4 d.rs",
            "done 5 e.rs"
        ])
    );
    assert_eq!(
        env.mock.max_concurrency(),
        2,
        "max_parallel bounds the fan-out"
    );
}

const COUNT_SCHEMA: &str = r#"
    output_schema:
      type: object
      required: [count]
      additionalProperties: false
      properties: { count: { type: integer } }
"#;

#[tokio::test]
async fn an_invalid_answer_is_retried_with_the_errors_then_accepted() {
    let env = TestEnv::start(|r| {
        if marker(r).starts_with("Your previous answer") {
            MockReply::Json(json!({"count": 3}))
        } else {
            MockReply::Json(json!({"count": "three"}))
        }
    })
    .await;
    let yaml =
        format!("steps:\n  count:\n    prompt: COUNT the files\n    retries: 1\n{COUNT_SCHEMA}");
    let file = write(&env.work(), "retry.yaml", &yaml);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["steps"]["count"]["output"], json!({"count": 3}));
    assert_eq!(report["steps"]["count"]["attempts"], 2);
    let requests = env.mock.requests();
    let retry = requests.last().expect("a retry request");
    assert!(marker(retry).contains("at `/count`"), "{}", marker(retry));
    assert!(
        retry.user_texts().iter().any(|t| t == "COUNT the files"),
        "same thread"
    );
}

#[tokio::test]
async fn a_never_valid_answer_fails_the_step_naming_the_errors() {
    let env = TestEnv::start(|_| MockReply::Json(json!({"count": "many"}))).await;
    let yaml = format!("steps:\n  count:\n    prompt: COUNT\n    retries: 1\n{COUNT_SCHEMA}");
    let file = write(&env.work(), "never.yaml", &yaml);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let error = report["steps"]["count"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("at `/count`"), "{error}");
    assert!(
        error.contains(r#"{"count":"many"}"#),
        "the last answer is named: {error}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: step `count` failed"), "{stderr}");
}

#[tokio::test]
async fn if_skips_a_step_and_its_dependents() {
    let env = TestEnv::start(|_| MockReply::text("ok")).await;
    let file = write(
        &env.work(),
        "if.yaml",
        r#"
inputs:
  deep: { type: boolean, default: false }
steps:
  quick:
    prompt: QUICK
  deep:
    if: inputs.deep
    prompt: DEEP
  report:
    needs: [deep]
    prompt: REPORT
"#,
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["steps"]["quick"]["status"], "succeeded");
    assert_eq!(report["steps"]["deep"]["status"], "skipped");
    assert_eq!(report["steps"]["report"]["status"], "skipped");
    assert_eq!(env.mock.requests().len(), 1);
}

#[tokio::test]
async fn a_step_timeout_interrupts_the_turn() {
    let env = TestEnv::start(|r| {
        if marker(r).starts_with("SLOW") {
            MockReply::Stall
        } else {
            MockReply::text("fine")
        }
    })
    .await;
    let file = write(
        &env.work(),
        "timeout.yaml",
        "steps:\n  slow:\n    prompt: SLOW\n    timeout: 1s\n  other:\n    prompt: OTHER\n",
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(
        report["steps"]["slow"]["error"],
        "timed out after 1s; the turn was interrupted"
    );
    assert_eq!(report["steps"]["other"]["status"], "succeeded");
}

#[tokio::test]
async fn a_token_budget_stops_the_step() {
    let env = TestEnv::start(|_| MockReply::text("a long answer")).await;
    let file = write(
        &env.work(),
        "budget.yaml",
        "steps:\n  big:\n    prompt: BIG\n    max_tokens: 5\n",
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(
        report["steps"]["big"]["error"],
        "exceeded the token budget of 5 per turn; the turn was interrupted"
    );
}

#[tokio::test]
async fn approvals_follow_the_step_rules() {
    let env = TestEnv::start(|r| {
        if r.is_after_tool_call() {
            return MockReply::text("done");
        }
        let cmd = if marker(r).starts_with("ALLOW") {
            "touch allowed.txt"
        } else {
            "touch denied.txt"
        };
        MockReply::Command {
            cmd: cmd.into(),
            escalated: true,
        }
    })
    .await;
    let file = write(
        &env.work(),
        "approvals.yaml",
        r#"
defaults:
  approval: on-request
  approvals: { commands: ["touch allowed*"] }
steps:
  allowed:
    prompt: ALLOW
  denied:
    prompt: DENY
"#,
    );
    let events = env.work().join("events.jsonl");
    let events_arg = events.display().to_string();
    let out = weft(
        &env,
        &["run", &file, "--events", &events_arg, "--output", "json"],
    )
    .await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert!(
        env.work().join("allowed.txt").exists(),
        "the allowed command ran"
    );
    assert!(
        !env.work().join("denied.txt").exists(),
        "the declined command did not"
    );
    let log = std::fs::read_to_string(&events).expect("events file");
    let decided: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|e| e["type"] == "approval.decided")
        .collect();
    let verdict = |step: &str| {
        decided
            .iter()
            .find(|e| e["step"] == step)
            .map(|e| e["approved"].clone())
    };
    assert_eq!(verdict("allowed"), Some(json!(true)), "{decided:?}");
    assert_eq!(verdict("denied"), Some(json!(false)), "{decided:?}");
}

/// Starts `weft run FILE --output json` in the background, once the model has been asked
/// to answer `marker_prefix` (which stalls), returns the child and the app-server pids.
async fn start_stalled_run(env: &TestEnv, file: &str) -> (tokio::process::Child, Vec<u32>) {
    let child = support::cli::command(env, &["run", file, "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn weft");
    let pid = child.id().expect("weft pid");
    let mock = &env.mock;
    support::wait_until(Duration::from_secs(60), || !mock.requests().is_empty()).await;
    let tree = support::descendants_of(pid);
    (child, tree)
}

const STALLS: &str =
    "steps:\n  stuck:\n    prompt: STUCK\n  after:\n    needs: [stuck]\n    prompt: AFTER\n";

#[tokio::test]
async fn the_app_server_dying_mid_run_exits_3_with_a_named_error() {
    let env = TestEnv::start(|_| MockReply::Stall).await;
    let file = write(&env.work(), "stall.yaml", STALLS);
    let (child, tree) = start_stalled_run(&env, &file).await;
    let codex: Vec<u32> = tree
        .iter()
        .copied()
        .filter(|p| support::command_name(*p) == "codex")
        .collect();
    assert!(
        !codex.is_empty(),
        "the app-server runs under weft: {tree:?}"
    );
    support::send_signal(codex[0], libc::SIGKILL);
    let out = within_for(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("weft exits");
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{report:#}");
    assert_eq!(report["steps"]["stuck"]["status"], "failed");
    assert_eq!(report["steps"]["after"]["status"], "skipped");
    let error = report["steps"]["stuck"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("app-server exited"), "{error}");
}

#[tokio::test]
async fn sigint_interrupts_the_run_exits_130_and_leaves_no_process() {
    let env = TestEnv::start(|_| MockReply::Stall).await;
    let file = write(&env.work(), "stall.yaml", STALLS);
    let (child, tree) = start_stalled_run(&env, &file).await;
    assert!(!tree.is_empty());
    support::send_signal(child.id().expect("pid"), libc::SIGINT);
    let out = within_for(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("weft exits");
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(130), "{report:#}");
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["steps"]["stuck"]["status"], "interrupted");
    assert_eq!(report["steps"]["after"]["status"], "skipped");
    let alive: Vec<u32> = tree
        .into_iter()
        .filter(|p| support::pid_alive(*p))
        .collect();
    assert!(alive.is_empty(), "processes left behind: {alive:?}");
}

#[tokio::test]
async fn forks_start_from_the_named_thread_and_do_not_change_it() {
    let env = TestEnv::start(|r| MockReply::text(format!("answer to {}", marker(r)))).await;
    let file = write(
        &env.work(),
        "fork.yaml",
        r#"
threads:
  main: {}
steps:
  read:
    thread: main
    prompt: READ the log
  guess_a:
    fork: main
    needs: [read]
    prompt: HYPOTHESIS A
  guess_b:
    fork: main
    needs: [read]
    prompt: HYPOTHESIS B
  decide:
    thread: main
    needs: [guess_a, guess_b]
    prompt: DECIDE between {{ steps.guess_a.output }} and {{ steps.guess_b.output }}
"#,
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let steps = &report["steps"];
    let main = &steps["read"]["thread_id"];
    assert_eq!(&steps["decide"]["thread_id"], main);
    assert_ne!(&steps["guess_a"]["thread_id"], main);
    assert_ne!(steps["guess_a"]["thread_id"], steps["guess_b"]["thread_id"]);
    let requests = env.mock.requests();
    let find = |prefix: &str| find(&requests, prefix);
    let a = find("HYPOTHESIS A");
    assert!(
        a.user_texts().iter().any(|t| t == "READ the log"),
        "a fork carries the history"
    );
    assert!(!a.contains("HYPOTHESIS B"), "forks do not see each other");
    let decide = find("DECIDE");
    assert!(decide.user_texts().iter().any(|t| t == "READ the log"));
    assert!(
        !decide
            .user_texts()
            .iter()
            .any(|t| t.starts_with("HYPOTHESIS")),
        "the named thread does not see its forks' turns"
    );
}
