//! A fan-out sharded across processes, end to end through the real app-server: the steps
//! upstream of it run once (`--upstream-only`), three shard processes run their elements
//! from that record (`--shard K/3 --from`), and `weft merge` joins them and runs the rest.
//! The result, and the model requests sent, are those of the run on one machine; a failed
//! shard fails the merge, named; a shard killed mid-way is resumed and merged.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::cli::{command, json_stdout, stderr, weft, write};
use support::{TestEnv, wait_until, within_for};
use weft::mock::{MockReply, MockRequest};

const WORKFLOW: &str = r#"
name: shards
inputs:
  topic: { type: string, default: files }
threads:
  planner: { developer_instructions: Plan only. }
steps:
  plan:
    thread: planner
    prompt: PLAN the {{ inputs.topic }}
    output_schema:
      type: object
      required: [files]
      properties: { files: { type: array, items: { type: string } } }
  each:
    for_each: steps.plan.output.files
    as: file
    prompt: "EACH {{ loop.index }}/{{ loop.length }} {{ file }}"
  report:
    thread: planner
    prompt: "REPORT {{ steps.each.output | join(', ') }}"
outputs:
  results: "{{ steps.each.output }}"
  report: "{{ steps.report.output }}"
"#;

fn text(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

fn model(request: &MockRequest) -> MockReply {
    let prompt = text(request);
    if prompt.starts_with("PLAN") {
        let files: Vec<String> = (0..10).map(|i| format!("f{i}.rs")).collect();
        MockReply::Json(json!({ "files": files }))
    } else {
        MockReply::text(format!("did {prompt}"))
    }
}

/// What the model was asked, request by request, in an order that does not depend on
/// timing: every user message of each request, and its output schema.
fn asked(requests: &[MockRequest]) -> Vec<Value> {
    let mut asked: Vec<Value> = requests
        .iter()
        .map(|r| json!({ "user": r.user_texts(), "schema": r.output_schema() }))
        .collect();
    asked.sort_by_key(|v| v.to_string());
    asked
}

async fn run_json(env: &TestEnv, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = weft(env, args).await;
    let report = if out.stdout.is_empty() {
        Value::Null
    } else {
        json_stdout(&out)
    };
    (out.status.code(), report, stderr(&out))
}

/// Runs the three shards at once, from run `from`; their run ids and exit codes.
async fn three_shards(env: &TestEnv, file: &str, from: &str) -> Vec<(String, Option<i32>)> {
    let mut children = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let args = [
            "run", file, "--shard", &shard, "--from", from, "--output", "json",
        ];
        children.push(command(env, &args).output());
    }
    let mut shards = Vec::new();
    for child in children {
        let out = within_for(Duration::from_secs(120), child)
            .await
            .expect("run a shard");
        let report = json_stdout(&out);
        let id = report["run_id"].as_str().unwrap_or_default().to_owned();
        shards.push((id, out.status.code()));
    }
    shards
}

#[tokio::test]
async fn three_shards_and_a_merge_give_what_one_machine_gives() {
    let env = TestEnv::start(model).await;
    let file = write(&env.work(), "shards.yaml", WORKFLOW);
    let (code, single, log) = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(code, Some(0), "{log}");
    let on_one_machine = asked(&env.mock.requests());
    let before = env.mock.requests().len();

    let (code, upstream, log) =
        run_json(&env, &["run", &file, "--upstream-only", "--output", "json"]).await;
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        upstream["steps"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["plan"]
    );
    let from = upstream["run_id"].as_str().unwrap().to_owned();
    let shards = three_shards(&env, &file, &from).await;
    assert!(
        shards.iter().all(|(_, code)| *code == Some(0)),
        "{shards:?}"
    );
    let mut args = vec!["merge".to_owned()];
    args.extend(shards.iter().map(|(id, _)| id.clone()));
    args.extend(["--output", "json", "--junit", "merged.xml"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, merged, log) = run_json(&env, &args).await;
    assert_eq!(code, Some(0), "{log}");

    assert_eq!(merged["outputs"], single["outputs"]);
    assert_eq!(merged["status"], "succeeded");
    assert_eq!(merged["steps"]["each"]["reused"], true);
    assert_eq!(merged["steps"]["report"]["reused"], false);
    let sharded = asked(&env.mock.requests()[before..]);
    assert_eq!(sharded, on_one_machine, "the same requests, each sent once");

    let junit = std::fs::read_to_string(env.work().join("merged.xml")).unwrap();
    for i in 0..10 {
        assert!(junit.contains(&format!("name=\"each[{i}]\"")), "{junit}");
    }
    let id = merged["run_id"].as_str().unwrap();
    let record = support::cli::record(&env, id);
    let ids: Vec<String> = shards.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(record["merged_from"], json!(ids));
    let overview = weft(&env, &["runs", "show", id]).await;
    let overview = String::from_utf8_lossy(&overview.stdout).into_owned();
    assert!(
        overview.contains(&format!("merged from runs {}", ids.join(", "))),
        "{overview}"
    );
    let shard = weft(&env, &["runs", "show", &ids[1]]).await;
    let shard = String::from_utf8_lossy(&shard.stdout).into_owned();
    assert!(
        shard.contains(&format!(
            "shard 2/3 of `each`, upstream steps from run {from}"
        )),
        "{shard}"
    );
    let shown = weft(&env, &["runs", "show", id, "each"]).await;
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("EACH 10/10 f9.rs"), "{shown}");
}

#[tokio::test]
async fn a_failed_shard_fails_the_merge_and_is_named() {
    let env = TestEnv::start(|request: &MockRequest| {
        if text(request).starts_with("EACH 5/10") {
            MockReply::Error {
                status: 400,
                body: "{\"error\": {\"message\": \"no such file\"}}".into(),
            }
        } else {
            model(request)
        }
    })
    .await;
    let file = write(&env.work(), "shards.yaml", WORKFLOW);
    let (_, upstream, _) =
        run_json(&env, &["run", &file, "--upstream-only", "--output", "json"]).await;
    let from = upstream["run_id"].as_str().unwrap().to_owned();
    let shards = three_shards(&env, &file, &from).await;
    let codes: Vec<Option<i32>> = shards.iter().map(|(_, c)| *c).collect();
    assert_eq!(codes, [Some(0), Some(1), Some(0)], "element 4 is shard 2's");
    let ids: Vec<&str> = shards.iter().map(|(id, _)| id.as_str()).collect();
    let (code, merged, log) =
        run_json(&env, &["merge", ids[0], ids[1], ids[2], "--output", "json"]).await;
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&format!("error: shard 2/3 (run {}) failed", ids[1])),
        "{log}"
    );
    assert!(log.contains(&format!("weft resume {}", ids[1])), "{log}");
    assert_eq!(merged["steps"]["each"]["status"], "failed");
    assert_eq!(merged["steps"]["report"]["status"], "skipped");
    assert!(
        env.mock
            .requests()
            .iter()
            .all(|r| !text(r).starts_with("REPORT")),
        "nothing after the fan-out ran"
    );

    let (code, _, log) = run_json(&env, &["merge", ids[0], ids[2]]).await;
    assert_eq!(code, Some(2));
    assert!(log.contains("shard 2/3 of `each` is missing"), "{log}");

    let moved = env.work().join("moved.yaml");
    std::fs::rename(&file, &moved).unwrap();
    let (code, _, log) = run_json(&env, &["merge", ids[0], ids[1], ids[2]]).await;
    assert_eq!(code, Some(2));
    assert!(
        log.contains("which is not here: pass the workflow file with `--workflow FILE`"),
        "{log}"
    );
    std::fs::write(&moved, format!("{WORKFLOW}# edited\n")).unwrap();
    let moved = moved.display().to_string();
    let args = ["merge", ids[0], ids[1], ids[2], "--workflow", &moved];
    let (code, _, log) = run_json(&env, &args).await;
    assert_eq!(code, Some(2));
    assert!(log.contains("is not the workflow the shards ran"), "{log}");
}

#[tokio::test]
async fn a_shard_killed_mid_way_is_resumed_and_merged() {
    let stall = Arc::new(AtomicBool::new(true));
    let stalling = stall.clone();
    let env = TestEnv::start(move |request: &MockRequest| {
        if text(request).starts_with("EACH 6/10") && stalling.load(Ordering::SeqCst) {
            MockReply::Stall
        } else {
            model(request)
        }
    })
    .await;
    let file = write(&env.work(), "shards.yaml", WORKFLOW);
    let (_, upstream, _) =
        run_json(&env, &["run", &file, "--upstream-only", "--output", "json"]).await;
    let from = upstream["run_id"].as_str().unwrap().to_owned();
    let mut killed = command(&env, &["run", &file, "--shard", "3/3", "--from", &from]);
    killed
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = killed.spawn().expect("spawn shard 3");
    let mock = &env.mock;
    wait_until(Duration::from_secs(60), || {
        mock.requests()
            .iter()
            .any(|r| text(r).starts_with("EACH 6/10"))
    })
    .await;
    support::send_signal(child.id().expect("pid"), libc::SIGKILL);
    within_for(Duration::from_secs(30), child.wait())
        .await
        .expect("shard 3 is gone");
    let killed_id = support::cli::run_ids(&env)
        .into_iter()
        .find(|id| *id != from)
        .expect("shard 3's record");

    stall.store(false, Ordering::SeqCst);
    let mut shards: Vec<String> = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/3");
        let args = [
            "run", &file, "--shard", &shard, "--from", &from, "--output", "json",
        ];
        let (code, report, log) = run_json(&env, &args).await;
        assert_eq!(code, Some(0), "{log}");
        shards.push(report["run_id"].as_str().unwrap().to_owned());
    }
    let (code, resumed, log) = run_json(&env, &["resume", &killed_id, "--output", "json"]).await;
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(resumed["steps"]["plan"]["reused"], true);
    assert_eq!(
        resumed["steps"]["each"]["output"],
        json!([
            "did EACH 3/10 f2.rs",
            "did EACH 6/10 f5.rs",
            "did EACH 9/10 f8.rs"
        ])
    );
    shards.push(killed_id);
    let ids: Vec<&str> = shards.iter().map(String::as_str).collect();
    let (code, merged, log) =
        run_json(&env, &["merge", ids[2], ids[0], ids[1], "--output", "json"]).await;
    assert_eq!(code, Some(0), "{log}");
    let results = merged["outputs"]["results"].as_array().unwrap().clone();
    let expected: Vec<String> = (0..10)
        .map(|i| format!("did EACH {}/10 f{i}.rs", i + 1))
        .collect();
    assert_eq!(json!(results), json!(expected));
    let report = &merged["outputs"]["report"];
    assert!(
        report
            .as_str()
            .unwrap()
            .starts_with("did REPORT did EACH 1/10 f0.rs"),
        "{report}"
    );
}

#[tokio::test]
async fn shards_that_ran_the_upstream_steps_differently_do_not_merge() {
    let plans = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let env = TestEnv::start(move |request: &MockRequest| {
        if text(request).starts_with("PLAN") {
            let n = plans.fetch_add(1, Ordering::SeqCst) + 2;
            let files: Vec<String> = (0..n).map(|i| format!("f{i}.rs")).collect();
            MockReply::Json(json!({ "files": files }))
        } else {
            model(request)
        }
    })
    .await;
    let file = write(&env.work(), "shards.yaml", WORKFLOW);
    let mut ids = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let (code, report, log) =
            run_json(&env, &["run", &file, "--shard", &shard, "--output", "json"]).await;
        assert_eq!(code, Some(0), "{log}");
        assert_eq!(
            report["steps"].as_object().unwrap().len(),
            2,
            "plan and each only"
        );
        ids.push(report["run_id"].as_str().unwrap().to_owned());
    }
    let (code, _, log) = run_json(&env, &["merge", &ids[0], &ids[1]]).await;
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains("the shards disagree on the output of step `plan`"),
        "{log}"
    );
    assert!(log.contains("--upstream-only"), "{log}");
}

#[tokio::test]
async fn what_cannot_be_sharded_is_refused_before_anything_runs() {
    let env = TestEnv::start(model).await;
    let named = WORKFLOW.replace("    as: file\n", "    as: file\n    thread: planner\n");
    let cases = [
        (
            named.as_str(),
            vec![],
            "step `each` does not run on fresh threads",
        ),
        (
            "steps:\n  a: { prompt: A }\n",
            vec![],
            "the workflow has no `for_each` step to shard",
        ),
        (
            "steps:\n  a: { prompt: A, for_each: '[1]' }\n  b: { prompt: B, for_each: '[2]' }\n",
            vec![],
            "several `for_each` steps (`a`, `b`): name the one to shard with `--shard-step`",
        ),
        (
            WORKFLOW,
            vec!["--shard-step", "eahc"],
            "unknown step `eahc`; did you mean `each`?",
        ),
        (
            WORKFLOW,
            vec!["--shard-step", "plan"],
            "step `plan` has no `for_each`",
        ),
    ];
    write(
        &env.work(),
        "part.yaml",
        "steps:\n  p: { prompt: P, for_each: '[1, 2]' }\n",
    );
    let calls = "steps:\n  part: { uses: ./part.yaml }\n";
    let mut cases = cases.to_vec();
    cases.push((
        calls,
        vec!["--shard-step", "part/p"],
        "the workflow `uses` other workflows: sharding one is not supported yet",
    ));
    for (text, extra, expected) in cases {
        let file = write(&env.work(), "bad.yaml", text);
        let mut args = vec!["run", file.as_str(), "--shard", "1/2"];
        args.extend(extra);
        let out = weft(&env, &args).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    let file = write(&env.work(), "ok.yaml", WORKFLOW);
    let out = weft(&env, &["run", &file, "--shard-step", "each"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`--shard-step` goes with `--shard K/N`"),
        "{}",
        stderr(&out)
    );
    assert!(env.mock.requests().is_empty());
}
