//! Run records and `weft resume` end to end: a run killed mid-step and resumed, damaged
//! and half-written records, a workflow changed since the run, `weft runs`, `weft threads`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use support::cli::{command, json_stdout, record, run_ids, stderr, step_entry, weft, write};
use support::{TestEnv, wait_until, within_for};
use weft::mock::{MockReply, MockRequest};

fn marker(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

const THREE_ON_ONE_THREAD: &str = r#"
name: three
threads:
  main: { developer_instructions: Work step by step. }
steps:
  one:
    thread: main
    prompt: ONE survey the code
  two:
    thread: main
    prompt: TWO plan after {{ steps.one.output }}
  three:
    thread: main
    prompt: THREE apply the plan
"#;

/// A model that stalls on `TWO` while `stall` is set, and answers everything else.
fn stalling_model(stall: Arc<AtomicBool>) -> impl Fn(&MockRequest) -> MockReply {
    move |r| {
        let text = marker(r);
        if text.starts_with("ONE") {
            MockReply::text("first done")
        } else if text.starts_with("TWO") && stall.load(Ordering::SeqCst) {
            MockReply::Stall
        } else if text.starts_with("TWO") {
            MockReply::text("second done")
        } else {
            MockReply::text("third done")
        }
    }
}

#[tokio::test]
async fn sigkill_in_the_second_of_three_steps_then_resume_finishes_the_run() {
    let stall = Arc::new(AtomicBool::new(true));
    let env = TestEnv::start(stalling_model(stall.clone())).await;
    let file = write(&env.work(), "three.yaml", THREE_ON_ONE_THREAD);
    let mut cmd = command(&env, &["run", &file]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn weft");
    let mock = &env.mock;
    wait_until(Duration::from_secs(60), || {
        mock.requests().iter().any(|r| marker(r).starts_with("TWO"))
    })
    .await;
    let id = run_ids(&env).pop().expect("a run record");
    let env_ref = &env;
    wait_until(Duration::from_secs(30), || {
        let saved = record(env_ref, &id);
        let steps = saved["steps"].as_array().cloned().unwrap_or_default();
        steps
            .iter()
            .any(|s| s["id"] == "two" && s["status"] == "running")
    })
    .await;
    support::send_signal(child.id().expect("pid"), libc::SIGKILL);
    within_for(Duration::from_secs(30), child.wait())
        .await
        .expect("weft is gone");

    let killed = record(&env, &id);
    assert_eq!(
        killed["status"], "running",
        "killed: no chance to say otherwise"
    );
    assert_eq!(step_entry(&killed, "one")["status"], "succeeded");
    assert_eq!(step_entry(&killed, "one")["prompt"], "ONE survey the code");
    let listed = weft(&env, &["runs"]).await;
    let listing = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        listing.contains(&id) && listing.contains("stopped"),
        "{listing}"
    );

    stall.store(false, Ordering::SeqCst);
    let before = env.mock.requests().len();
    let out = weft(&env, &["resume", &id, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["run_id"], id.as_str());
    let steps = &report["steps"];
    assert_eq!(steps["one"]["reused"], true);
    assert_eq!(steps["one"]["output"], "first done");
    assert_eq!(steps["two"]["output"], "second done");
    assert_eq!(steps["three"]["output"], "third done");
    assert_eq!(
        steps["two"]["thread_id"], steps["one"]["thread_id"],
        "same thread"
    );
    assert_eq!(steps["three"]["thread_id"], steps["one"]["thread_id"]);

    let after: Vec<MockRequest> = env.mock.requests().split_off(before);
    assert!(
        after.iter().all(|r| !marker(r).starts_with("ONE")),
        "step one was not run again: {:?}",
        after.iter().map(marker).collect::<Vec<_>>()
    );
    let two = after
        .iter()
        .find(|r| marker(r).starts_with("TWO"))
        .expect("step two ran again");
    assert_eq!(
        marker(two),
        "TWO plan after first done",
        "the kept output feeds templates"
    );
    assert!(
        two.user_texts().iter().any(|t| t == "ONE survey the code"),
        "the named thread continues with its history"
    );
    assert!(two.assistant_texts().iter().any(|t| t == "first done"));
    let done = record(&env, &id);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["sessions"], 2);
    assert_eq!(step_entry(&done, "one")["reused"], true);
    assert_eq!(run_ids(&env), vec![id], "resume continues the same record");
}

const CHAIN: &str = r#"
steps:
  a:
    prompt: A first
  b:
    prompt: B after {{ steps.a.output }}
  c:
    prompt: C after {{ steps.b.output }}
    output_schema: { type: object, required: [ok], additionalProperties: false, properties: { ok: { type: boolean } } }
"#;

/// A model whose answer to `C` is invalid until `fixed` is set.
fn chain_model(fixed: Arc<AtomicBool>) -> impl Fn(&MockRequest) -> MockReply {
    move |r| {
        let text = marker(r);
        if text.starts_with('C') && fixed.load(Ordering::SeqCst) {
            MockReply::Json(json!({"ok": true}))
        } else if text.starts_with('C') {
            MockReply::text("not json")
        } else {
            MockReply::text(format!("{} done", &text[..1]))
        }
    }
}

#[tokio::test]
async fn resume_after_the_workflow_changed_is_refused_then_allowed_with_the_flag() {
    let fixed = Arc::new(AtomicBool::new(false));
    let env = TestEnv::start(chain_model(fixed.clone())).await;
    let file = write(&env.work(), "chain.yaml", CHAIN);
    let out = weft(&env, &["run", &file]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let id = run_ids(&env).pop().expect("a run");
    let err = stderr(&out);
    assert!(err.contains("error: step `c` failed"), "{err}");
    assert!(err.contains(&format!("weft resume {id}")), "{err}");

    write(
        &env.work(),
        "chain.yaml",
        &CHAIN.replace("B after", "B, reworded, after"),
    );
    let before = env.mock.requests().len();
    let refused = weft(&env, &["resume", "--last"]).await;
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("step `b` (changed)"), "{err}");
    assert!(
        !err.contains("`a`") && !err.contains("`c`"),
        "only b changed: {err}"
    );
    assert!(err.contains("--allow-changed"), "{err}");
    assert_eq!(env.mock.requests().len(), before, "nothing ran");
    assert_eq!(
        record(&env, &id)["status"],
        "failed",
        "the record is untouched"
    );
    let as_run = env
        .work()
        .join(".weft/runs")
        .join(&id)
        .join("workflow.yaml");
    let saved = || std::fs::read_to_string(&as_run).expect("the workflow as run");
    assert_eq!(saved(), CHAIN);

    fixed.store(true, Ordering::SeqCst);
    let out = weft(
        &env,
        &["resume", &id, "--allow-changed", "--output", "json"],
    )
    .await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["steps"]["a"]["reused"], true);
    assert_eq!(report["steps"]["b"]["reused"], false);
    let asked: Vec<String> = env.mock.requests()[before..].iter().map(marker).collect();
    assert_eq!(asked, vec!["B, reworded, after A done", "C after B done"]);
    assert!(saved().contains("B, reworded"), "the workflow as run now");
}

#[tokio::test]
async fn a_damaged_record_is_refused_and_left_as_it_is() {
    let env = TestEnv::start(|_| MockReply::text("fine")).await;
    let file = write(
        &env.work(),
        "one.yaml",
        "steps:\n  only:\n    prompt: ONLY\n",
    );
    let out = weft(&env, &["run", &file]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = run_ids(&env).pop().expect("a run");
    let dir = env.work().join(".weft/runs").join(&id);
    let state = std::fs::read(dir.join("run.json")).expect("run.json");
    std::fs::write(dir.join("run.json"), &state[..state.len() / 2]).expect("damage it");
    let snapshot = || -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("run dir")
            .map(|e| e.expect("entry"))
            .filter(|e| e.path().is_file())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).expect("read"))
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot();

    let out = weft(&env, &["resume", &id]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is damaged") && err.contains("left as it is"),
        "{err}"
    );
    assert!(err.contains("run.json"), "names the file: {err}");
    let show = weft(&env, &["runs", "show", &id]).await;
    assert_eq!(show.status.code(), Some(2), "{}", stderr(&show));
    let listed = weft(&env, &["runs"]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains("damaged"));
    assert_eq!(snapshot(), before, "the run directory is left as it is");
}

#[tokio::test]
async fn a_crash_while_writing_state_leaves_a_readable_record() {
    let fixed = Arc::new(AtomicBool::new(false));
    let env = TestEnv::start(chain_model(fixed.clone())).await;
    let file = write(&env.work(), "chain.yaml", CHAIN);
    let out = weft(&env, &["run", &file]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let id = run_ids(&env).pop().expect("a run");
    let dir = env.work().join(".weft/runs").join(&id);
    // What a crash in the middle of saving leaves: the next state half written to the
    // temporary file (never renamed over run.json), and half an event line in the log.
    let state = std::fs::read(dir.join("run.json")).expect("run.json");
    std::fs::write(dir.join(".run.json.tmp"), &state[..state.len() / 3]).expect("tmp");
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("events.jsonl"))
        .expect("events");
    std::io::Write::write_all(&mut log, br#"{"type":"step.started","step":"c","thr"#).expect("w");

    let show = weft(&env, &["runs", "show", &id, "c"]).await;
    let text = String::from_utf8_lossy(&show.stdout).to_string();
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert!(text.contains("--- prompt\nC after B done"), "{text}");
    assert!(text.contains("agent: not json"), "the transcript: {text}");
    fixed.store(true, Ordering::SeqCst);
    let out = weft(&env, &["resume", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(record(&env, &id)["status"], "succeeded");
    assert!(
        !dir.join(".run.json.tmp").exists(),
        "the next save replaced it"
    );
}

#[tokio::test]
async fn runs_and_threads_list_what_was_run() {
    let env = TestEnv::start(|r| MockReply::text(format!("answer to {}", marker(r)))).await;
    let file = write(&env.work(), "two.yaml", THREE_ON_ONE_THREAD);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let second = weft(&env, &["run", &file]).await;
    assert_eq!(second.status.code(), Some(0));
    let ids = run_ids(&env);
    assert_eq!(ids.len(), 2, "a plain run always starts afresh");
    let first = report["run_id"].as_str().expect("run id");
    assert!(ids.iter().any(|id| id == first));

    let listed = weft(&env, &["runs"]).await;
    let text = String::from_utf8_lossy(&listed.stdout).to_string();
    let line = text.lines().find(|l| l.starts_with(first)).expect("listed");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[1], "three");
    assert_eq!(cells[4], "succeeded");
    assert_eq!(cells.last(), Some(&"45"), "15 tokens a turn: {line}");

    let show = weft(&env, &["runs", "show", first]).await;
    let text = String::from_utf8_lossy(&show.stdout).to_string();
    let thread = report["steps"]["one"]["thread_id"]
        .as_str()
        .expect("thread");
    let two = text
        .lines()
        .find(|l| l.starts_with("two "))
        .expect("step two");
    assert!(two.contains("succeeded") && two.contains(thread), "{text}");
    let step = weft(&env, &["runs", "show", &first[..first.len() - 1], "two"]).await;
    let text = String::from_utf8_lossy(&step.stdout).to_string();
    assert_eq!(step.status.code(), Some(0), "a unique prefix names the run");
    assert!(
        text.contains("--- prompt\nTWO plan after answer to ONE survey the code"),
        "{text}"
    );
    assert!(text.contains("--- output\nanswer to TWO plan"), "{text}");
    assert!(
        text.contains(&format!("started on thread {thread}")),
        "{text}"
    );

    let threads = weft(&env, &["threads"]).await;
    let text = String::from_utf8_lossy(&threads.stdout).to_string();
    assert_eq!(threads.status.code(), Some(0), "{}", stderr(&threads));
    let row = text
        .lines()
        .find(|l| l.starts_with(thread))
        .expect("the thread is listed");
    assert!(row.contains(&format!("{first} one, two, three")), "{text}");

    let again = weft(&env, &["resume", "--last"]).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stderr(&again).contains("already succeeded"),
        "{}",
        stderr(&again)
    );
    let unknown = weft(&env, &["runs", "show", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no run `nope`"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn the_help_shows_the_new_commands() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("--help")
        .output()
        .expect("weft --help");
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["resume", "runs", "threads"] {
        assert!(text.contains(command), "{text}");
    }
}
