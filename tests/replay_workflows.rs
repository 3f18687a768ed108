//! `weft run --record/--replay` and `weft test` end to end: the weft binary, the real
//! `codex app-server`, and the mock model standing in for the real provider.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::TestEnv;
use support::cli::weft_in;
use support::examples::{EXAMPLES, Example, copy_fixture, repo};
use weft::mock::MockReply;

fn example(name: &str) -> &'static Example {
    EXAMPLES.iter().find(|e| e.name == name).expect("example")
}

async fn weft(env: &TestEnv, cwd: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    weft_in(env, cwd, args, extra_env, Duration::from_secs(240)).await
}

/// Every file under `root` but build output and run records, with its text.
fn files(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".weft" && name != ".git" {
                    stack.push(path);
                }
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.insert(rel.display().to_string(), text);
            }
        }
    }
    out
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The parts of a run report that do not change between runs (no thread ids, durations).
fn stable(report: &Value) -> Value {
    let steps: serde_json::Map<String, Value> = report["steps"]
        .as_object()
        .expect("steps")
        .iter()
        .map(|(id, s)| {
            (
                id.clone(),
                serde_json::json!([s["status"], s["output"], s["usage"]]),
            )
        })
        .collect();
    serde_json::json!({"status": report["status"], "outputs": report["outputs"], "steps": steps})
}

#[tokio::test]
async fn record_then_replay_gives_the_same_outputs_and_the_same_file_changes() {
    let split = example("split-module");
    let env = TestEnv::start(split.model).await;
    let workflow = repo().join("workflows/split-module.yaml");
    let workflow = workflow.to_str().expect("utf-8");
    let cassette = env.dir.path().join("split.cassette.json");
    let cassette = cassette.to_str().expect("utf-8");
    let recorded_dir = copy_fixture(&env, split.workspace, "recorded");
    let args = [
        "run",
        workflow,
        "--input",
        "module=src/shapes.rs",
        "--output",
        "json",
    ];
    let recording = weft(
        &env,
        &recorded_dir,
        &[&args[..], &["--record", cassette]].concat(),
        &[],
    )
    .await;
    assert_eq!(
        recording.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&recording.stderr)
    );
    let requests_while_recording = env.mock.requests().len();

    let replayed_dir = copy_fixture(&env, split.workspace, "replayed");
    let replay_args = ["run", workflow, "--output", "json", "--replay", cassette];
    let replaying = weft(&env, &replayed_dir, &replay_args, &[]).await;
    assert_eq!(
        replaying.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replaying.stderr)
    );
    assert_eq!(
        env.mock.requests().len(),
        requests_while_recording,
        "a replay asks no model"
    );
    assert_eq!(stable(&report(&replaying)), stable(&report(&recording)));

    let after = files(&replayed_dir);
    assert_eq!(after, files(&recorded_dir));
    assert!(after["src/shapes.rs"].contains("pub use circle::Circle;"));
    assert!(after.contains_key("src/shapes/rect.rs"));
    assert!(
        replayed_dir.join("target").is_dir(),
        "the replayed `cargo test` ran"
    );
}

#[tokio::test]
async fn a_changed_prompt_fails_replay_with_a_diff_unless_lenient() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let original = std::fs::read_to_string(repo().join("workflows/hello.yaml")).expect("read");
    let changed = original.replace("one short paragraph", "two short paragraphs");
    assert_ne!(changed, original);
    let file = env.work().join("hello.yaml");
    std::fs::write(&file, changed).expect("write");
    let file = file.to_str().expect("utf-8");
    let cassette = repo().join("workflows/hello.cassette.json");
    let cassette = cassette.to_str().expect("utf-8");
    let work = copy_fixture(&env, "fixtures/geometry", "ws");

    let strict = weft(&env, &work, &["run", file, "--replay", cassette], &[]).await;
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: replay: the prompt of step `summarise` (attempt 1, request 1) differs from the cassette:"),
        "{stderr}"
    );
    assert!(stderr.contains("--- cassette\n+++ this run\n"), "{stderr}");
    assert!(
        stderr.contains("\n-write one short paragraph that explains"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n+write two short paragraphs that explains"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: step `summarise` failed"),
        "{stderr}"
    );

    let lenient_args = [
        "run",
        file,
        "--replay",
        cassette,
        "--replay-mode",
        "lenient",
    ];
    let lenient = weft(&env, &work, &lenient_args, &[]).await;
    let stderr = String::from_utf8_lossy(&lenient.stderr);
    assert_eq!(lenient.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: replay: the prompt of step `summarise`"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&lenient.stdout)
            .starts_with("summary: This repository is `geometry`")
    );
    assert!(
        env.mock.requests().is_empty(),
        "neither replay asks the model"
    );
}

const FAKE_KEY: &str = "sk-weft-fake-5ec2e7";

#[tokio::test]
async fn a_cassette_never_contains_the_authorization_header() {
    let env = TestEnv::start(example("hello").model).await;
    let keyed = format!(
        "{{name=\"keyed\", base_url=\"{}\", wire_api=\"responses\", env_key=\"WEFT_FAKE_KEY\"}}",
        env.mock.url()
    );
    let provider = format!("model_providers.keyed={keyed}");
    let cassette = env.dir.path().join("hello.cassette.json");
    let workflow = repo().join("workflows/hello.yaml");
    let args = [
        "run",
        workflow.to_str().expect("utf-8"),
        "-c",
        "model_provider=keyed",
        "-c",
        &provider,
        "--record",
        cassette.to_str().expect("utf-8"),
    ];
    let work = copy_fixture(&env, "fixtures/geometry", "ws");
    let out = weft(&env, &work, &args, &[("WEFT_FAKE_KEY", FAKE_KEY)]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = env.mock.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {FAKE_KEY}").as_str())
        );
    }
    let text = std::fs::read_to_string(&cassette).expect("cassette");
    assert!(!text.contains(FAKE_KEY), "the key leaked into the cassette");
    assert!(!text.to_lowercase().contains("authorization"));
    assert!(!text.contains("Bearer"));
}

#[tokio::test]
async fn record_without_credentials_stops_before_the_run_and_says_what_to_do() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let workflow = repo().join("workflows/hello.yaml");
    let cassette = env.dir.path().join("never.cassette.json");
    let args = [
        "run",
        workflow.to_str().expect("utf-8"),
        "-c",
        "model_provider=openai",
        "--record",
        cassette.to_str().expect("utf-8"),
    ];
    let out = weft(&env, &env.work(), &args, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "error: cannot record: no model credentials; run `codex login`, or set OPENAI_API_KEY"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("started on thread"),
        "no step ran: {stderr}"
    );
    assert!(!cassette.exists());
}

#[tokio::test]
async fn weft_test_passes_on_the_shipped_examples() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let out = weft(&env, &repo(), &["test", "workflows"], &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "fix-tests",
        "audit-crate",
        "hello",
        "review-diff",
        "split-module",
        "triage-failure",
    ] {
        assert!(stdout.contains(&format!("PASS {name} (")), "{stdout}");
    }
    assert!(stdout.ends_with("6 passed, 0 failed\n"), "{stdout}");
    assert!(env.mock.requests().is_empty());
}

#[tokio::test]
async fn weft_test_shows_the_difference_and_exits_non_zero() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let dir = env.dir.path().join("suite");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for file in ["review-diff.yaml", "review-diff.cassette.json"] {
        std::fs::copy(repo().join("workflows").join(file), dir.join(file)).expect("copy");
    }
    std::fs::create_dir_all(env.dir.path().join("schemas")).expect("mkdir");
    std::fs::copy(
        repo().join("schemas/review-findings.json"),
        env.dir.path().join("schemas/review-findings.json"),
    )
    .expect("copy schema");
    copy_fixture(&env, "fixtures/review", "suite/fixtures-review");
    let expect = std::fs::read_to_string(repo().join("workflows/review-diff.expect.json"))
        .expect("expect")
        .replace("\"fixtures/review\"", "\"fixtures-review\"")
        .replace(
            "\"status\": \"failed\",\n  \"outputs\"",
            "\"status\": \"succeeded\",\n  \"outputs\"",
        );
    std::fs::write(dir.join("review-diff.expect.json"), expect).expect("write");
    let out = weft(&env, &dir, &["test", "."], &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("FAIL review-diff ("), "{stdout}");
    assert!(
        stdout.contains("--- expected\n    +++ actual\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-  \"status\": \"succeeded\",\n    +  \"status\": \"failed\","),
        "{stdout}"
    );
    assert!(
        stdout.contains("`fail_if: output.findings"),
        "the run's error is shown: {stdout}"
    );
    assert!(stdout.ends_with("0 passed, 1 failed\n"), "{stdout}");
}
