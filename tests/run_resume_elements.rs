//! Element-level resume end to end, through the real app-server: a six-element fan-out
//! killed (SIGKILL four times, then SIGINT) at several moments, each kill timed by the mock model's
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

    // Killed while element 1 runs (`list` finished, no element), then element 2 (1
    // finished), 4 (3 finished), 6 (5 finished), then interrupted with Ctrl-C while
    // `after` runs.
    let killed = kill_at(&env, &ledger, &["run", &file], "EACH f1", libc::SIGKILL).await;
    assert_eq!(
        killed["status"], "running",
        "SIGKILL: no chance to say otherwise"
    );
    assert_eq!(
        step_entry(&killed, "list")["status"],
        "succeeded",
        "saved before `each`"
    );
    let id = run_ids(&env).pop().unwrap();
    let resume = ["resume", id.as_str()];
    kill_at(&env, &ledger, &resume, "EACH f2", libc::SIGKILL).await;
    assert_eq!(succeeded_elements(&env, &id), 1, "element 1 is on disk");
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
        "5 kills (4 SIGKILL, 1 SIGINT), {} prompts sent, {} finished turns sent again",
        ledger.sent.values().sum::<usize>(),
        ledger.resent_finished
    );
    assert_eq!(ledger.resent_finished, 0, "sent: {:?}", ledger.sent);
    for i in 1..=6 {
        let times = ledger.sent[&format!("EACH f{i}")];
        let expected = if i % 2 == 0 || i == 1 { 2 } else { 1 };
        assert_eq!(
            times, expected,
            "EACH f{i}: only the killed turn runs again"
        );
    }
    assert_eq!(ledger.sent["LIST the files"], 1);
    assert_eq!(ledger.sent[after], 2);
    let done = record(&env, &id);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["sessions"], 6);
}

const SIX_AT_ONCE: &str = r#"
name: six
steps:
  each:
    for_each: "['f1', 'f2', 'f3', 'f4', 'f5', 'f6']"
    max_parallel: 3
    prompt: "EACH {{ item }}"
"#;

/// The elements of `each` the record of run `id` says succeeded.
fn succeeded_set(env: &TestEnv, id: &str) -> Vec<String> {
    let path = env
        .work()
        .join(".weft/runs")
        .join(id)
        .join("elements/each.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut last = HashMap::new();
    for line in text.lines() {
        if let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) {
            let ok = entry["status"] == "succeeded";
            last.insert(entry["item"].as_str().unwrap_or("?").to_string(), ok);
        }
    }
    let mut done: Vec<String> = last
        .into_iter()
        .filter(|(_, ok)| *ok)
        .map(|(k, _)| k)
        .collect();
    done.sort();
    done
}

#[tokio::test]
async fn three_elements_at_once_killed_while_turns_are_in_flight_keep_what_the_record_kept() {
    // Each answer takes 150 ms, three run at once, and each session is killed once it has
    // sent its fourth prompt (or all it had left) and one more element is in the record,
    // with others in flight: where the kill lands is up to the race. What the record
    // says finished must never be sent again.
    let finished: Arc<Mutex<Vec<String>>> = Arc::default();
    let resent = Arc::new(Mutex::new(Vec::new()));
    let (seen, again) = (finished.clone(), resent.clone());
    let env = TestEnv::start(move |r: &MockRequest| {
        let text = marker(r);
        let item = text.trim_start_matches("EACH ").to_string();
        if seen.lock().unwrap().contains(&item) {
            again.lock().unwrap().push(item.clone());
        }
        let reply = MockReply::text(format!("done {item}"));
        MockReply::Delayed(Duration::from_millis(150), Box::new(reply))
    })
    .await;
    let file = write(&env.work(), "six.yaml", SIX_AT_ONCE);
    let mut kills = 0;
    let mut id: Option<String> = None;
    while finished.lock().unwrap().len() < 4 {
        let args: Vec<&str> = match &id {
            None => vec!["run", file.as_str()],
            Some(id) => vec!["resume", id.as_str()],
        };
        let before = env.mock.requests().len();
        let left = 6 - finished.lock().unwrap().len();
        let mut cmd = command(&env, &args);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("spawn weft");
        let (mock, env_ref, known) = (&env.mock, &env, 6 - left);
        wait_until(Duration::from_secs(90), || {
            let grew = || {
                run_ids(env_ref)
                    .pop()
                    .is_some_and(|run| succeeded_set(env_ref, &run).len() > known)
            };
            mock.requests().len() >= before + left.min(4) && grew()
        })
        .await;
        support::send_signal(child.id().expect("pid"), libc::SIGKILL);
        within_for(Duration::from_secs(60), child.wait())
            .await
            .expect("weft is gone");
        kills += 1;
        let run = run_ids(&env).pop().expect("a run");
        *finished.lock().unwrap() = succeeded_set(&env, &run);
        id = Some(run);
    }
    let id = id.expect("a run");
    let out = weft(&env, &["resume", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let done = record(&env, &id);
    assert_eq!(done["status"], "succeeded");
    let all: Vec<String> = (1..=6).map(|i| format!("done f{i}")).collect();
    assert_eq!(step_entry(&done, "each")["output"], json!(all));
    let resent = resent.lock().unwrap();
    eprintln!(
        "{kills} kills with turns in flight, {} prompts sent, {} finished turns sent again",
        env.mock.requests().len(),
        resent.len()
    );
    assert_eq!(
        *resent,
        Vec::<String>::new(),
        "finished elements sent again"
    );
}
