//! Secrets end to end: a workflow with a secret input and a secret environment variable
//! runs through the real app-server against the mock model, which echoes both back in a
//! command it runs, in its streamed answer and in an invalid structured answer (so they
//! reach approvals, progress, outputs, validation errors and retries). Then every file the
//! run left (run record, event log, JUnit, GitHub step summary, the recorded cassette) and
//! its stdout and stderr are searched for the values, as are `weft runs show` and `weft
//! threads`; a replay of the cassette and a resume that is given the secrets again are
//! searched the same way.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::TestEnv;
use support::cli::{record, run_ids, step_entry, weft_in, write};
use weft::mock::{MockReply, MockRequest};

/// The secret input: a quote, a backslash and a non-ASCII letter, so its JSON-escaped
/// forms differ from it.
const TOKEN: &str = "tok\"en\\Ü-4242-abcd";
/// The secret environment variable: spaces, so the mock streams it over several deltas.
const KEY: &str = "open sesame 9f8e7d6c";
/// Pieces of the secrets: none may show up either (a secret cut in two is a leak).
const FRAGMENTS: &[&str] = &["4242-abcd", "sesame", "9f8e7d6c", "\\u00dc-4242"];

const WORKFLOW: &str = r#"
name: secrets
env: [HOME, { name: WEFT_TEST_KEY, secret: true }]
inputs:
  token: { type: string, secret: true }
  who: { type: string, default: world }
defaults:
  approval: on-request
  approvals: { commands: ["echo *"] }
steps:
  call:
    prompt: "CALL the service as {{ inputs.who }} with {{ inputs.token }} and {{ env.WEFT_TEST_KEY }}"
  check:
    needs: [call]
    prompt: "CHECK what came back: {{ steps.call.output }}"
    retries: 1
    output_schema: { type: object, properties: { n: { type: integer } }, required: [n] }
outputs:
  said: "{{ steps.call.output }}"
"#;

/// The mock model: `call` runs `echo` with both secrets, then says them; `check` answers
/// with the token where a number belongs, until `fixed`.
fn model(fixed: Arc<AtomicBool>) -> impl Fn(&MockRequest) -> MockReply + Send + Sync {
    move |r| {
        let texts = r.user_texts();
        if texts.iter().any(|t| t.starts_with("CALL")) {
            if r.is_after_tool_call() {
                return MockReply::text(format!("Called with {TOKEN} and {KEY}, fine."));
            }
            return MockReply::Command {
                cmd: format!("echo '{TOKEN}' '{KEY}'"),
                escalated: true,
            };
        }
        if fixed.load(Ordering::SeqCst) {
            MockReply::Json(json!({ "n": 1 }))
        } else {
            MockReply::Json(json!({ "n": TOKEN }))
        }
    }
}

async fn weft(env: &TestEnv, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    weft_in(env, &env.work(), args, extra_env, Duration::from_secs(240)).await
}

/// `-c` options that make a provider of the mock model that `--record` can forward to.
fn provider(env: &TestEnv) -> Vec<String> {
    let keyed = format!(
        "{{name=\"keyed\", base_url=\"{}\", wire_api=\"responses\", env_key=\"WEFT_FAKE_KEY\"}}",
        env.mock.url()
    );
    vec![
        "-c".into(),
        "model_provider=keyed".into(),
        "-c".into(),
        format!("model_providers.keyed={keyed}"),
    ]
}

/// Every file under `root`, by path, with its bytes as text.
fn files(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.insert(path, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    out
}

/// Fails when `text` holds a secret, in any form or in part.
fn assert_clean(what: &str, text: &str) {
    let escaped = |s: &str| {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_string()
    };
    let forms = [TOKEN.to_string(), escaped(TOKEN), KEY.to_string()];
    for needle in forms
        .iter()
        .map(String::as_str)
        .chain(FRAGMENTS.iter().copied())
    {
        assert!(!text.contains(needle), "{what} holds `{needle}`:\n{text}");
    }
}

/// Searches stdout, stderr and every file under the work directory; returns the files.
fn assert_nothing_leaked(env: &TestEnv, out: &Output) -> BTreeMap<PathBuf, String> {
    assert_clean("stdout", &String::from_utf8_lossy(&out.stdout));
    assert_clean("stderr", &String::from_utf8_lossy(&out.stderr));
    let all = files(&env.work());
    for (path, text) in &all {
        assert_clean(&path.display().to_string(), text);
    }
    all
}

fn text_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[tokio::test]
async fn no_artifact_of_a_run_holds_a_secret() {
    let fixed = Arc::new(AtomicBool::new(false));
    let env = TestEnv::start(model(fixed.clone())).await;
    let work = env.work();
    let file = write(&work, "secrets.yaml", WORKFLOW);
    let (events, junit, summary, cassette) = (
        work.join("events.jsonl"),
        work.join("junit.xml"),
        work.join("summary.md"),
        work.join("secrets.cassette.json"),
    );
    let token = format!("token={TOKEN}");
    let mut args: Vec<String> = ["run", &file, "--input", &token, "--output", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(provider(&env));
    for (flag, path) in [
        ("--events", &events),
        ("--junit", &junit),
        ("--record", &cassette),
    ] {
        args.extend([flag.to_string(), path.display().to_string()]);
    }
    args.extend(["--progress", "plain", "-v"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary_path = summary.display().to_string();
    let github = [
        ("WEFT_TEST_KEY", KEY),
        ("WEFT_FAKE_KEY", "sk-fake-key-0000"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary_path.as_str()),
    ];
    let out = weft(&env, &args, &github).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "check fails: {stderr}");

    // The model did get the real values: weft masks what it writes, not what it sends.
    let sent: Vec<String> = env
        .mock
        .requests()
        .iter()
        .flat_map(|r| r.user_texts())
        .collect();
    assert!(
        sent.iter().any(|t| t.contains(TOKEN) && t.contains(KEY)),
        "{sent:?}"
    );

    let all = assert_nothing_leaked(&env, &out);
    let id = run_ids(&env).pop().expect("a run");
    let run_dir = work.join(".weft/runs").join(&id);
    for path in [
        &events,
        &junit,
        &summary,
        &cassette,
        &run_dir.join("run.json"),
        &run_dir.join("events.jsonl"),
        &run_dir.join("workflow.yaml"),
    ] {
        assert!(all.contains_key(path), "{} was written", path.display());
    }

    // `***` stands where the values were.
    let state = record(&env, &id);
    assert_eq!(state["inputs"], json!({ "token": "***", "who": "world" }));
    assert_eq!(state["secret_env"], json!(["WEFT_TEST_KEY"]));
    let call = step_entry(&state, "call");
    assert_eq!(call["prompt"], "CALL the service as world with *** and ***");
    assert_eq!(call["output"], "Called with *** and ***, fine.");
    let check = step_entry(&state, "check");
    assert!(
        check["error"].as_str().unwrap().contains("\"***\""),
        "{check:#}"
    );
    let log = text_of(&events);
    assert!(
        log.contains("echo '***' '***'"),
        "the approved command: {log}"
    );
    assert!(log.contains("\"delta\""), "the answer streamed: {log}");
    let streamed: String = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "turn.delta" && e["step"] == "call")
        .filter_map(|e| e["delta"].as_str().map(str::to_owned))
        .collect();
    assert!(
        streamed.contains("Called with *** and ***, fine."),
        "{streamed:?}"
    );
    assert!(text_of(&junit).contains("***"));
    assert!(text_of(&summary).contains("Called with *** and ***"));
    assert!(stderr.contains("::error"), "{stderr}");
    assert!(
        stderr.contains("[call] > *** \n[call] > and \n[call] > ***, \n"),
        "the key came in three deltas, and goes out masked in one: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(
        report["steps"]["call"]["output"],
        "Called with *** and ***, fine."
    );
    let tape: Value = serde_json::from_str(&text_of(&cassette)).expect("cassette");
    assert_eq!(tape["inputs"]["token"], "***");
    let tape_text = text_of(&cassette);
    assert!(tape_text.contains("echo '***' '***'"), "{tape_text}");

    // `weft runs show` reads the record: masked too.
    let shown = weft(&env, &["runs", "show", &id, "call"], &[]).await;
    assert_eq!(shown.status.code(), Some(0));
    assert_clean("runs show", &String::from_utf8_lossy(&shown.stdout));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("***"));

    // `weft threads` previews a run's thread by the prompt its record keeps, not by the
    // app-server's preview (the prompt as the model got it). Threads are listed by model
    // provider: a recording run's is weft's recorder, `weft_tape`.
    let tape = format!(
        "model_providers.weft_tape={{name=\"weft_tape\", base_url=\"{}\", wire_api=\"responses\"}}",
        env.mock.url()
    );
    let list_args = ["threads", "-c", "model_provider=weft_tape", "-c", &tape];
    let threads = weft(&env, &list_args, &[]).await;
    let listed = String::from_utf8_lossy(&threads.stdout);
    assert_eq!(threads.status.code(), Some(0), "{listed}");
    assert_clean("weft threads", &listed);
    let call_thread = call["thread_id"].as_str().expect("a thread");
    let row = listed.lines().find(|l| l.starts_with(call_thread));
    assert!(
        row.is_some_and(|r| r.contains("CALL the service as world with *** and ***")),
        "{listed}"
    );

    replays_need_no_secret(&env, &file, &cassette).await;
    resume_asks_for_the_secrets_again(&env, &id, fixed).await;
}

/// The cassette replays without the secrets (they read as the stand-in `***`) and with
/// them (masked before the comparison): the prompts match either way.
async fn replays_need_no_secret(env: &TestEnv, file: &str, cassette: &Path) {
    let cassette = cassette.display().to_string();
    let bare = weft(env, &["run", file, "--replay", &cassette], &[]).await;
    let token = format!("token={TOKEN}");
    let given = weft(
        env,
        &["run", file, "--replay", &cassette, "--input", &token],
        &[("WEFT_TEST_KEY", KEY)],
    )
    .await;
    for out in [&bare, &given] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "the same failure: {stderr}");
        assert!(!stderr.contains("differs from the cassette"), "{stderr}");
        assert!(!stderr.contains("no answer"), "{stderr}");
        assert_nothing_leaked(env, out);
    }
}

/// The record keeps no secret: `weft resume` asks for each, then runs with them.
async fn resume_asks_for_the_secrets_again(env: &TestEnv, id: &str, fixed: Arc<AtomicBool>) {
    let bare = weft(env, &["resume", id], &[("WEFT_TEST_KEY", KEY)]).await;
    let stderr = String::from_utf8_lossy(&bare.stderr);
    assert_eq!(bare.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: input `token` is secret, so run {id} did not keep it; give it again: `weft resume {id} --input token=...`"
        )),
        "{stderr}"
    );
    let token = format!("token={TOKEN}");
    let no_env = weft(env, &["resume", id, "--input", &token], &[]).await;
    let stderr = String::from_utf8_lossy(&no_env.stderr);
    assert_eq!(no_env.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("environment variable `WEFT_TEST_KEY` is secret"),
        "{stderr}"
    );
    let who = weft(env, &["resume", id, "--input", "who=you"], &[]).await;
    assert!(
        String::from_utf8_lossy(&who.stderr).contains("input `who` is not secret"),
        "{}",
        String::from_utf8_lossy(&who.stderr)
    );
    fixed.store(true, Ordering::SeqCst);
    let resumed = weft(
        env,
        &[
            "resume",
            id,
            "--input",
            &token,
            "--input",
            "who=world",
            "--progress",
            "plain",
        ],
        &[("WEFT_TEST_KEY", KEY)],
    )
    .await;
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("[call] succeeded in an earlier session"),
        "{stderr}"
    );
    assert_nothing_leaked(env, &resumed);
    let state = record(env, id);
    assert_eq!(state["inputs"]["token"], "***");
    assert_eq!(step_entry(&state, "check")["output"], json!({ "n": 1 }));
}
