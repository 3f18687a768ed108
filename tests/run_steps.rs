//! Steps beyond turns, end to end (the weft binary, the real `codex app-server`, the mock
//! model): scripts (`run:`) whose output turns read, loops on turns and on scripts, human
//! gates answered with `weft resume --approve`/`--reject`, a script that times out, and
//! input that reaches a script only as data.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::cli::{command, json_stdout, record, run_ids, stderr, step_entry, weft, write};
use support::{TestEnv, pid_alive, wait_until, within_for};
use weft::mock::{MockReply, MockRequest};

fn marker(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

/// The prompts the mock received, in order (one per turn: the first request of each).
fn prompts(env: &TestEnv) -> Vec<String> {
    env.mock
        .requests()
        .iter()
        .filter(|r| !r.is_after_tool_call())
        .map(marker)
        .collect()
}

const MIXED: &str = r#"
name: mixed
inputs:
  title: { type: string, default: "$(touch pwned) `touch pwned2`; touch pwned3" }
steps:
  facts:
    description: a script whose JSON output a turn reads
    run: |
      printf '{"files": ["a.rs", "b.rs"], "title": "%s"}' "$TITLE"
    env: { TITLE: "{{ inputs.title }}" }
    output: json
    output_schema:
      type: object
      required: [files, title]
      properties:
        files: { type: array, items: { type: string } }
        title: { type: string }
  describe:
    prompt: DESCRIBE {{ steps.facts.output.files | join(",") }}
  fix:
    description: a loop on a turn that ends when `until_run` succeeds (the third time)
    sandbox: workspace-write
    loop:
      max_iterations: 5
      until_run: test "$(wc -l < attempts.txt)" -ge 3
    prompt: "FIX attempt {{ iteration.number }}; last time: {{ iteration.previous | tojson }}"
  count:
    description: a script loop ended by `until`
    run: |
      echo "{\"n\": $N}"
    env: { N: "{{ iteration.number }}" }
    output: json
    loop: { max_iterations: 4, until: output.n >= 2 }
  ship:
    needs: [describe, fix, count]
    gate: "Ship after {{ steps.count.output.n }} rounds?"
  announce:
    prompt: ANNOUNCE {{ steps.ship.output.reply }}
  deploy:
    needs: [announce]
    gate: Deploy to production?
  celebrate:
    needs: [deploy]
    prompt: CELEBRATE
outputs:
  rounds: "{{ steps.count.iterations | length }}"
  note: "{{ steps.announce.output }}"
"#;

fn mixed_model(request: &MockRequest) -> MockReply {
    let text = marker(request);
    if text.starts_with("FIX") && !request.is_after_tool_call() {
        return MockReply::command("echo tried >> attempts.txt");
    }
    if text.starts_with("FIX") {
        let n = text.split_whitespace().nth(2).unwrap_or("?");
        return MockReply::text(format!("tried fix {}", n.trim_end_matches(';')));
    }
    MockReply::text(format!("said: {text}"))
}

#[tokio::test]
async fn scripts_loops_and_gates_run_stop_at_a_gate_and_resume_with_the_answers() {
    let env = TestEnv::start(mixed_model).await;
    let file = write(&env.work(), "mixed.yaml", MIXED);
    let events = env.work().join("events.jsonl");
    let junit = env.work().join("junit.xml");
    let out = weft(
        &env,
        &[
            "run",
            &file,
            "--output",
            "json",
            "--events",
            &events.display().to_string(),
            "--junit",
            &junit.display().to_string(),
        ],
    )
    .await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["status"], "waiting");
    let steps = &report["steps"];

    let title = "$(touch pwned) `touch pwned2`; touch pwned3";
    assert_eq!(
        steps["facts"]["output"],
        json!({"files": ["a.rs", "b.rs"], "title": title})
    );
    assert_eq!(steps["facts"]["exit_code"], 0);
    assert_eq!(steps["facts"]["kind"], "script");
    assert_eq!(
        steps["facts"]["usage"]["total_tokens"], 0,
        "no agent, no tokens"
    );
    for never in ["pwned", "pwned2", "pwned3"] {
        assert!(
            !env.work().join(never).exists(),
            "the input ran as shell: {never}"
        );
    }

    assert_eq!(steps["describe"]["output"], "said: DESCRIBE a.rs,b.rs");

    assert_eq!(steps["fix"]["status"], "succeeded");
    assert_eq!(
        steps["fix"]["iterations"],
        json!(["tried fix 1", "tried fix 2", "tried fix 3"]),
        "until_run held after the third iteration"
    );
    assert_eq!(steps["fix"]["output"], "tried fix 3");
    let fix_prompts: Vec<String> = prompts(&env)
        .into_iter()
        .filter(|p| p.starts_with("FIX"))
        .collect();
    assert_eq!(
        fix_prompts,
        vec![
            "FIX attempt 1; last time: null",
            "FIX attempt 2; last time: \"tried fix 1\"",
            "FIX attempt 3; last time: \"tried fix 2\"",
        ]
    );
    let third = env
        .mock
        .requests()
        .into_iter()
        .find(|r| marker(r).starts_with("FIX attempt 3"))
        .expect("the third iteration");
    assert!(
        third
            .user_texts()
            .iter()
            .any(|t| t.starts_with("FIX attempt 1")),
        "`thread: same` continues one conversation"
    );
    assert_eq!(steps["fix"]["thread_id"].as_str().map(str::len), Some(36));

    assert_eq!(steps["count"]["iterations"], json!([{"n": 1}, {"n": 2}]));
    assert_eq!(steps["count"]["output"], json!({"n": 2}));

    assert_eq!(steps["ship"]["status"], "waiting");
    assert_eq!(steps["announce"]["status"], "waiting");
    assert!(!prompts(&env).iter().any(|p| p.starts_with("ANNOUNCE")));
    let err = stderr(&out);
    let id = run_ids(&env).pop().expect("a run");
    assert!(
        err.contains(&format!("to approve: weft resume {id} --approve ship")),
        "{err}"
    );
    let log = std::fs::read_to_string(&events).expect("events");
    let waiting: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "gate.waiting")
        .collect();
    assert_eq!(
        waiting,
        vec![json!({"type": "gate.waiting", "step": "ship", "question": "Ship after 2 rounds?"})]
    );
    assert_eq!(log.matches("\"type\":\"iteration.finished\"").count(), 5);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("name=\"ship\""), "{xml}");
    assert!(xml.contains("no answer yet"), "{xml}");
    let saved = record(&env, &id);
    assert_eq!(saved["status"], "waiting");
    assert_eq!(
        step_entry(&saved, "fix")["iterations"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    let before = env.mock.requests().len();
    let approved = weft(
        &env,
        &[
            "resume",
            &id,
            "--approve",
            "ship",
            "--reply",
            "ship it, $(touch pwned4)",
            "--output",
            "json",
        ],
    )
    .await;
    let report = json_stdout(&approved);
    assert_eq!(
        approved.status.code(),
        Some(4),
        "{report:#}\n{}",
        stderr(&approved)
    );
    let steps = &report["steps"];
    assert_eq!(
        steps["ship"]["output"],
        json!({"approved": true, "reply": "ship it, $(touch pwned4)"})
    );
    assert_eq!(
        steps["announce"]["output"],
        "said: ANNOUNCE ship it, $(touch pwned4)"
    );
    assert_eq!(steps["deploy"]["status"], "waiting");
    assert_eq!(steps["fix"]["reused"], true);
    let again: Vec<String> = env.mock.requests()[before..].iter().map(marker).collect();
    assert_eq!(
        again,
        vec!["ANNOUNCE ship it, $(touch pwned4)"],
        "nothing finished ran again"
    );

    let rejected = weft(
        &env,
        &[
            "resume",
            &id,
            "--reject",
            "deploy",
            "--reply",
            "not on a Friday",
            "--output",
            "json",
        ],
    )
    .await;
    let report = json_stdout(&rejected);
    assert_eq!(rejected.status.code(), Some(1), "{report:#}");
    let steps = &report["steps"];
    assert_eq!(steps["deploy"]["status"], "failed");
    assert_eq!(steps["deploy"]["error"], "rejected: not on a Friday");
    assert_eq!(steps["celebrate"]["status"], "skipped");
    assert_eq!(steps["announce"]["reused"], true);
    assert!(!prompts(&env).iter().any(|p| p == "CELEBRATE"));
    assert!(!env.work().join("pwned4").exists());

    let shown = weft(&env, &["runs", "show", &id]).await;
    let table = String::from_utf8_lossy(&shown.stdout);
    assert!(table.contains("  iteration 3  succeeded (done)"), "{table}");
    let shown = weft(&env, &["runs", "show", &id, "facts"]).await;
    let facts = String::from_utf8_lossy(&shown.stdout);
    assert!(facts.contains("--- script\nprintf"), "{facts}");
    assert!(facts.contains("--- exit code\n0"), "{facts}");
    assert!(
        facts.contains("output: {\"files\""),
        "the script's output is in the transcript: {facts}"
    );
}

const REFUSED: &str = r#"
steps:
  size:
    gate: How many shards?
    output_schema:
      type: object
      required: [shards]
      properties: { shards: { type: integer, minimum: 1 } }
  split:
    run: echo "$N shards"
    env: { N: "{{ steps.size.output.shards }}" }
"#;

#[tokio::test]
async fn a_reply_the_schema_refuses_leaves_the_run_waiting() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let file = write(&env.work(), "refused.yaml", REFUSED);
    let mut cmd = command(&env, &["run", &file]);
    cmd.env("CODEX_BIN", env.work().join("no-codex-here"));
    let out = support::cli::run(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "scripts and gates need no codex: {}",
        stderr(&out)
    );
    let id = run_ids(&env).pop().expect("a run");
    let bad = weft(
        &env,
        &[
            "resume",
            &id,
            "--approve",
            "size",
            "--reply",
            r#"{"shards": 0}"#,
        ],
    )
    .await;
    let err = stderr(&bad);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("the reply to gate `size` is refused"), "{err}");
    assert!(err.contains("/shards"), "{err}");
    assert_eq!(
        record(&env, &id)["status"],
        "waiting",
        "the run stays waiting"
    );
    let good = weft(
        &env,
        &[
            "resume",
            &id,
            "--approve",
            "size",
            "--reply",
            r#"{"shards": 3}"#,
            "--output",
            "json",
        ],
    )
    .await;
    let report = json_stdout(&good);
    assert_eq!(good.status.code(), Some(0), "{report:#}");
    assert_eq!(report["steps"]["size"]["output"], json!({"shards": 3}));
    assert_eq!(report["steps"]["split"]["output"], "3 shards");
    assert!(
        env.mock.requests().is_empty(),
        "scripts and gates need no model"
    );
}

const SLOW: &str = r#"
steps:
  slow:
    timeout: 1s
    run: |
      sleep 300 &
      echo $! > child.pid
      echo $$ > script.pid
      sleep 300
  failing:
    run: |
      echo "checking"
      echo "first problem" >&2
      echo "second problem" >&2
      exit 3
    continue_on_error: true
  react:
    if: steps.failing.exit_code == 3
    run: echo "saw $CODE, $LAST"
    env:
      CODE: "{{ steps.failing.exit_code }}"
      LAST: "{{ steps.failing.stderr | trim | split('\n') | last }}"
"#;

#[tokio::test]
async fn a_script_that_times_out_leaves_no_process_and_exit_codes_reach_later_steps() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let file = write(&env.work(), "slow.yaml", SLOW);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let steps = &report["steps"];
    assert_eq!(steps["slow"]["status"], "failed");
    assert_eq!(
        steps["slow"]["error"],
        "timed out after 1s; the script was stopped"
    );
    assert_eq!(steps["slow"]["exit_code"], Value::Null);
    for name in ["script.pid", "child.pid"] {
        let text = std::fs::read_to_string(env.work().join(name)).expect("pid file");
        let pid: u32 = text.trim().parse().expect("a pid");
        assert!(!pid_alive(pid), "{name} {pid} outlived the run");
    }
    assert_eq!(steps["failing"]["status"], "failed");
    assert_eq!(steps["failing"]["exit_code"], 3);
    assert_eq!(
        steps["failing"]["error"],
        "the script exited with code 3: first problem\nsecond problem"
    );
    assert_eq!(steps["failing"]["output"], "checking");
    assert_eq!(steps["react"]["output"], "saw 3, second problem");
}

const LOOPING: &str = r#"
name: looping
steps:
  work:
    loop: { max_iterations: 4, until: "'DONE' in output" }
    prompt: "WORK {{ iteration.number }} after {{ iteration.previous }}"
"#;

/// A model that stalls on `WORK 2` while `stall` is set.
fn looping_model(stall: Arc<AtomicBool>) -> impl Fn(&MockRequest) -> MockReply {
    move |r| {
        let text = marker(r);
        if text.starts_with("WORK 1") {
            MockReply::text("step one")
        } else if text.starts_with("WORK 2") && stall.load(Ordering::SeqCst) {
            MockReply::Stall
        } else if text.starts_with("WORK 2") {
            MockReply::text("step two")
        } else {
            MockReply::text("DONE")
        }
    }
}

#[tokio::test]
async fn a_loop_killed_mid_iteration_resumes_at_the_next_iteration_never_the_first() {
    let stall = Arc::new(AtomicBool::new(true));
    let env = TestEnv::start(looping_model(stall.clone())).await;
    let file = write(&env.work(), "looping.yaml", LOOPING);
    let mut cmd = command(&env, &["run", &file]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn weft");
    let mock = &env.mock;
    wait_until(Duration::from_secs(60), || {
        mock.requests()
            .iter()
            .any(|r| marker(r).starts_with("WORK 2"))
    })
    .await;
    let id = run_ids(&env).pop().expect("a run record");
    let env_ref = &env;
    wait_until(Duration::from_secs(30), || {
        let saved = record(env_ref, &id);
        let work = saved["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == "work").cloned());
        work.is_some_and(|w| w["iterations"].as_array().is_some_and(|i| i.len() == 1))
    })
    .await;
    support::send_signal(child.id().expect("pid"), libc::SIGKILL);
    within_for(Duration::from_secs(30), child.wait())
        .await
        .expect("weft is gone");
    let killed = record(&env, &id);
    let first = &step_entry(&killed, "work")["iterations"][0];
    assert_eq!(first["number"], 1);
    assert_eq!(first["output"], "step one");
    assert_eq!(first["ended"], false);

    stall.store(false, Ordering::SeqCst);
    let before = env.mock.requests().len();
    let out = weft(&env, &["resume", &id, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    let work = &report["steps"]["work"];
    assert_eq!(work["iterations"], json!(["step one", "step two", "DONE"]));
    assert_eq!(work["output"], "DONE");
    let after: Vec<MockRequest> = env.mock.requests().split_off(before);
    let sent: Vec<String> = after.iter().map(marker).collect();
    assert_eq!(
        sent,
        vec!["WORK 2 after step one", "WORK 3 after step two"],
        "the finished iteration was not sent again"
    );
    assert!(
        after[0]
            .user_texts()
            .iter()
            .any(|t| t.starts_with("WORK 1")),
        "the loop's thread continues with its history"
    );
    let done = record(&env, &id);
    let numbers: Vec<Value> = step_entry(&done, "work")["iterations"]
        .as_array()
        .expect("iterations")
        .iter()
        .map(|i| i["number"].clone())
        .collect();
    assert_eq!(numbers, vec![json!(1), json!(2), json!(3)]);
}

#[tokio::test]
async fn in_github_actions_a_waiting_gate_is_annotated_and_the_summary_says_how_to_answer() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let file = write(&env.work(), "refused.yaml", REFUSED);
    let summary = env.work().join("summary.md");
    let mut cmd = command(&env, &["run", &file]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = support::cli::run(cmd).await;
    assert_eq!(out.status.code(), Some(4));
    let id = run_ids(&env).pop().expect("a run");
    let err = stderr(&out);
    let note = err
        .lines()
        .find(|l| l.starts_with("::warning title=weft%3A step size waits for an answer::"))
        .unwrap_or_else(|| panic!("no annotation:\n{err}"));
    assert!(
        note.contains(&format!(
            "How many shards?%0ATo approve: weft resume {id} --approve size"
        )),
        "{note}"
    );
    let md = std::fs::read_to_string(&summary).expect("summary");
    assert!(md.contains("weft: workflow `refused` waiting"), "{md}");
    assert!(
        md.contains(&format!("To approve: `weft resume {id} --approve size`")),
        "{md}"
    );
    assert!(md.contains("| size | waiting |"), "{md}");
}

const LONG: &str = r#"
steps:
  long:
    run: |
      echo $$ > script.pid
      sleep 300
  after:
    needs: [long]
    run: echo never
"#;

#[tokio::test]
async fn ctrl_c_stops_a_running_script_and_its_group() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let file = write(&env.work(), "long.yaml", LONG);
    let mut cmd = command(&env, &["run", &file, "--output", "json"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn weft");
    let pid_file = env.work().join("script.pid");
    let script = pid_file.clone();
    wait_until(Duration::from_secs(30), move || {
        std::fs::read_to_string(&script).is_ok_and(|t| t.ends_with('\n'))
    })
    .await;
    support::send_signal(child.id().expect("pid"), libc::SIGINT);
    let out = within_for(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("weft ran");
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(130), "{report:#}");
    assert_eq!(report["steps"]["long"]["status"], "interrupted");
    assert_eq!(report["steps"]["after"]["status"], "skipped");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(!pid_alive(pid), "the script outlived Ctrl-C");
}

#[tokio::test]
async fn a_dry_run_shows_scripts_gates_and_a_loops_first_iteration() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let file = write(&env.work(), "mixed.yaml", MIXED);
    let out = weft(&env, &["run", &file, "--dry-run"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(
        text.contains(
            "--- facts\nTITLE=$(touch pwned) `touch pwned2`; touch pwned3\n$ printf '{\"files\""
        ),
        "{text}"
    );
    assert!(
        text.contains("--- fix (iteration 1)\nFIX attempt 1; last time: null\n"),
        "{text}"
    );
    assert!(
        text.contains("--- ship (rendered at run time: it waits for `count`)"),
        "{text}"
    );
    assert!(!env.work().join("pwned").exists());
    assert!(env.mock.requests().is_empty(), "nothing ran");
}
