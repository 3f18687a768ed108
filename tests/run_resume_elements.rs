//! Element-level resume end to end, through the real app-server: a six-element fan-out
//! killed (SIGKILL, then SIGINT) at several moments, each kill timed by the mock model's
//! request log, and resumed each time. No turn that had finished is ever sent again, and
//! the final outputs are all there.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use support::cli::{command, json_stdout, record, run_ids, stderr, step_entry, weft, write};
use support::{TestEnv, wait_until, within_for};
use weft::mock::{MockReply, MockRequest};

const SIX: &str = r#"
name: six
steps:
  list:
    prompt: LIST the files
    output_schema:
      type: object
      required: [files]
      properties: { files: { type: array, items: { type: string } } }
  each:
    for_each: steps.list.output.files
    as: f
    max_parallel: 1
    prompt: "EACH {{ f }}"
  after:
    prompt: "AFTER {{ steps.each.output | join(',') }}"
outputs:
  all: "{{ steps.each.output }}"
"#;

/// What the model saw: how often each prompt was sent, how often a prompt whose turn had
/// finished was sent again, and the prompt it stalls on (one per session).
#[derive(Default)]
struct Ledger {
    sent: HashMap<String, usize>,
    finished: HashMap<String, usize>,
    resent_finished: usize,
    stall: Option<String>,
}

fn marker(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

fn model(ledger: Arc<Mutex<Ledger>>) -> impl Fn(&MockRequest) -> MockReply {
    move |r| {
        let text = marker(r);
        let mut ledger = ledger.lock().unwrap();
        *ledger.sent.entry(text.clone()).or_default() += 1;
        if ledger.finished.contains_key(&text) {
            ledger.resent_finished += 1;
        }
        if ledger.stall.as_deref() == Some(text.as_str()) {
            return MockReply::Stall;
        }
        *ledger.finished.entry(text.clone()).or_default() += 1;
        if text.starts_with("LIST") {
            let files: Vec<String> = (1..=6).map(|i| format!("f{i}")).collect();
            MockReply::Json(json!({ "files": files }))
        } else if let Some(file) = text.strip_prefix("EACH ") {
            MockReply::text(format!("done {file}"))
        } else {
            MockReply::text("after done")
        }
    }
}

/// Starts `args` in the background, waits until the model has been sent `prompt` (on
/// which it stalls), then sends `signal`; the record as the signal left it.
async fn kill_at(
    env: &TestEnv,
    ledger: &Arc<Mutex<Ledger>>,
    args: &[&str],
    prompt: &str,
    signal: i32,
) -> serde_json::Value {
    ledger.lock().unwrap().stall = Some(prompt.to_string());
    let before = ledger
        .lock()
        .unwrap()
        .sent
        .get(prompt)
        .copied()
        .unwrap_or(0);
    let mut cmd = command(env, args);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn weft");
    wait_until(Duration::from_secs(90), || {
        ledger
            .lock()
            .unwrap()
            .sent
            .get(prompt)
            .copied()
            .unwrap_or(0)
            > before
    })
    .await;
    support::send_signal(child.id().expect("pid"), signal);
    let status = within_for(Duration::from_secs(60), child.wait())
        .await
        .expect("weft is gone");
    if signal == libc::SIGINT {
        assert_eq!(status.code(), Some(130), "interrupted");
    }
    let id = run_ids(env).pop().expect("a run record");
    record(env, &id)
}

fn succeeded_elements(env: &TestEnv, id: &str) -> usize {
    let path = env
        .work()
        .join(".weft/runs")
        .join(id)
        .join("elements/each.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut last = HashMap::new();
    for line in text.lines() {
        if let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) {
            last.insert(entry["index"].as_u64(), entry["status"] == "succeeded");
        }
    }
    last.values().filter(|ok| **ok).count()
}

#[tokio::test]
async fn a_fan_out_killed_again_and_again_never_sends_a_finished_turn_twice() {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let env = TestEnv::start(model(ledger.clone())).await;
    let file = write(&env.work(), "six.yaml", SIX);

    // Killed while element 2 runs (1 finished), then 4 (3 finished), then 6 (5 finished),
    // then interrupted with Ctrl-C while `after` runs.
    let killed = kill_at(&env, &ledger, &["run", &file], "EACH f2", libc::SIGKILL).await;
    assert_eq!(
        killed["status"], "running",
        "SIGKILL: no chance to say otherwise"
    );
    let id = run_ids(&env).pop().unwrap();
    assert_eq!(succeeded_elements(&env, &id), 1, "element 1 is on disk");
    let resume = ["resume", id.as_str()];
    kill_at(&env, &ledger, &resume, "EACH f4", libc::SIGKILL).await;
    assert_eq!(succeeded_elements(&env, &id), 3);
    kill_at(&env, &ledger, &resume, "EACH f6", libc::SIGKILL).await;
    assert_eq!(succeeded_elements(&env, &id), 5);
    let after = "AFTER done f1,done f2,done f3,done f4,done f5,done f6";
    let stopped = kill_at(&env, &ledger, &resume, after, libc::SIGINT).await;
    assert_eq!(stopped["status"], "interrupted");
    assert_eq!(step_entry(&stopped, "each")["status"], "succeeded");
    assert_eq!(step_entry(&stopped, "after")["status"], "interrupted");

    ledger.lock().unwrap().stall = None;
    let out = weft(&env, &["resume", &id, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    let all: Vec<String> = (1..=6).map(|i| format!("done f{i}")).collect();
    assert_eq!(report["outputs"]["all"], json!(all));
    assert_eq!(report["steps"]["each"]["reused"], true);
    assert_eq!(report["steps"]["after"]["output"], "after done");

    let ledger = ledger.lock().unwrap();
    eprintln!(
        "4 kills (3 SIGKILL, 1 SIGINT), {} prompts sent, {} finished turns sent again",
        ledger.sent.values().sum::<usize>(),
        ledger.resent_finished
    );
    assert_eq!(ledger.resent_finished, 0, "sent: {:?}", ledger.sent);
    for i in 1..=6 {
        let times = ledger.sent[&format!("EACH f{i}")];
        let expected = if i % 2 == 0 { 2 } else { 1 };
        assert_eq!(
            times, expected,
            "EACH f{i}: only the killed turn runs again"
        );
    }
    assert_eq!(ledger.sent["LIST the files"], 1);
    assert_eq!(ledger.sent[after], 2);
    let done = record(&env, &id);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["sessions"], 5);
}
