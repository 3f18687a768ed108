//! Approvals through the real app-server: the live third of the approval corpus
//! (`tests/data/approval_corpus.json`) and file changes, each asked for by the mock model
//! and answered by `weft run`; the file system shows that nothing declined ran.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::TestEnv;
use support::cli::{json_stdout, weft, write};
use weft::mock::{MockReply, MockRequest};

const CORPUS: &str = include_str!("data/approval_corpus.json");

/// One live case: its step, the script the model asks to run, the expected verdict.
struct Case {
    step: String,
    script: String,
    approved: bool,
}

/// The live cases, each script's `pwned.txt` and `allowed.txt` made unique to its step
/// (the patterns allow `touch allowed*`, so the verdicts do not change).
fn live_cases() -> (Vec<String>, Vec<Case>) {
    let corpus: Value = serde_json::from_str(CORPUS).unwrap();
    let patterns = serde_json::from_value(corpus["patterns"].clone()).unwrap();
    let cases = corpus["cases"].as_array().unwrap().iter();
    let live = cases.filter(|c| c["live"] == true).enumerate();
    let cases = live
        .map(|(n, c)| Case {
            step: format!("case{n:02}"),
            script: c["script"]
                .as_str()
                .unwrap()
                .replace("pwned.txt", &format!("pwned-{n:02}.txt"))
                .replace("allowed.txt", &format!("allowed-{n:02}.txt")),
            approved: c["approved"].as_bool().unwrap(),
        })
        .collect();
    (patterns, cases)
}

/// The mock: the step whose prompt is `STEP` asks to run `command` with escalation.
async fn asking_env(commands: Vec<(String, String)>) -> TestEnv {
    let commands = Arc::new(commands);
    TestEnv::start(move |r: &MockRequest| {
        if r.is_after_tool_call() {
            return MockReply::text("done");
        }
        let prompt = r.last_user_text().unwrap_or_default();
        match commands.iter().find(|(step, _)| *step == prompt) {
            Some((_, cmd)) => MockReply::Command {
                cmd: cmd.clone(),
                escalated: true,
            },
            None => MockReply::text("nothing to do"),
        }
    })
    .await
}

/// A workflow whose steps are `steps`, each prompted with its own name.
fn workflow(approval: &str, sandbox: &str, approvals: Value, steps: &[String]) -> String {
    let mut yaml = format!(
        "defaults:\n  approval: {approval}\n  sandbox: {sandbox}\n  approvals: {approvals}\nsteps:\n"
    );
    for step in steps {
        yaml.push_str(&format!("  {step}:\n    prompt: {step}\n"));
    }
    yaml
}

/// Every event of the run's record (`.weft/runs/<id>/events.jsonl` under `work`).
fn record_events(work: &Path) -> Vec<Value> {
    let runs: Vec<PathBuf> = std::fs::read_dir(work.join(".weft/runs"))
        .expect("the runs directory")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let log = std::fs::read_to_string(runs[0].join("events.jsonl")).expect("events.jsonl");
    log.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The one event of `kind` for `step`.
fn event_of<'a>(events: &'a [Value], kind: &str, step: &str) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == kind && e["step"] == step)
        .collect();
    assert_eq!(found.len(), 1, "{kind} of {step}: {found:?}");
    found[0]
}

#[tokio::test]
async fn the_live_corpus_runs_only_what_the_rules_allow() {
    let (patterns, cases) = live_cases();
    assert!(cases.len() >= 35, "a third of the corpus runs live");
    let asks = cases.iter().map(|c| (c.step.clone(), c.script.clone()));
    let env = asking_env(asks.collect()).await;
    std::fs::create_dir_all(env.work().join("src")).unwrap();
    let steps: Vec<String> = cases.iter().map(|c| c.step.clone()).collect();
    let rules = json!({ "commands": patterns });
    let file = write(
        &env.work(),
        "corpus.yaml",
        &workflow("on-request", "read-only", rules, &steps),
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let events = record_events(&env.work());
    let mut wrong = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let decided = event_of(&events, "approval.decided", &case.step);
        let shown = case.script.trim().replace('\n', " ⏎ ");
        if decided["approved"] != case.approved || decided["subject"] != shown.as_str() {
            wrong.push(format!("{:?}: {decided}", case.script));
        }
        let activity = event_of(&events, "turn.activity", &case.step);
        assert_eq!(
            activity["activity"],
            format!("$ {shown}"),
            "the progress line shows what runs"
        );
        let pwned = env.work().join(format!("pwned-{n:02}.txt"));
        assert!(!pwned.exists(), "declined {:?} ran", case.script);
        if case.approved && case.script.contains("touch allowed") {
            assert!(
                env.work().join(format!("allowed-{n:02}.txt")).exists(),
                "{:?}",
                case.script
            );
        }
    }
    assert!(wrong.is_empty(), "wrong decisions:\n{}", wrong.join("\n"));
    assert_eq!(
        std::fs::read_to_string(env.work().join("status.txt")).unwrap(),
        "ok\n",
        "the exact pattern `echo ok > status.txt` ran"
    );
}

/// An `exec_command` that codex turns into a patch (a `fileChange` item) adding `path`.
fn add_file(path: &str) -> String {
    format!(
        "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: {path}\n+written\n*** End Patch\nEOF\n"
    )
}

#[tokio::test]
async fn file_changes_are_decided_on_resolved_paths() {
    let patches = [
        ("inside", "src/new.rs", true),
        ("other", "notes.txt", false),
        ("escape", "link/escape.txt", false),
        ("direct", "../outside/direct.txt", false),
    ];
    let asks = patches.iter().map(|(s, p, _)| (s.to_string(), add_file(p)));
    let env = asking_env(asks.collect()).await;
    let outside = env.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(env.work().join("src")).unwrap();
    std::os::unix::fs::symlink(&outside, env.work().join("link")).unwrap();
    let steps: Vec<String> = patches.iter().map(|(s, _, _)| s.to_string()).collect();
    let rules = json!({ "files": ["src/**", "link/**"] });
    let file = write(
        &env.work(),
        "files.yaml",
        &workflow("untrusted", "workspace-write", rules, &steps),
    );
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let events = record_events(&env.work());
    for (step, path, approved) in patches {
        let decided = event_of(&events, "approval.decided", step);
        assert_eq!(decided["kind"], "file change", "{decided}");
        assert_eq!(decided["approved"], approved, "{path}: {decided}");
        let written = env.work().join(path);
        assert_eq!(written.exists(), approved, "{path}: {decided}");
    }
    let escape = event_of(&events, "approval.decided", "escape");
    let reason = escape["reason"].as_str().unwrap();
    assert!(reason.contains("outside the working directory"), "{reason}");
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "nothing was written outside"
    );
    assert_eq!(
        std::fs::read_to_string(env.work().join("src/new.rs")).unwrap(),
        "written\n"
    );
}
