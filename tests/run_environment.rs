//! `environment: snapshot | plain` through the real app-server: a `snapshot` thread runs
//! the user's login shell for codex's shell snapshot, a `plain` one does not, and a step
//! that says nothing keeps the Codex configuration's choice (off in the test home).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use support::TestEnv;
use support::cli::{command, json_stdout, run, write};
use weft::mock::{MockReply, MockRequest};

const WORKFLOW: &str = r#"
name: shells
steps:
  snap:
    environment: snapshot
    prompt: SNAP hello
  plain:
    environment: plain
    prompt: PLAIN hello
  unset:
    prompt: UNSET hello
"#;

/// A home whose login and interactive shells each note their pid in `shells.log`.
fn marking_home(root: &Path) -> PathBuf {
    let home = root.join("shell-home");
    std::fs::create_dir_all(&home).unwrap();
    let log = home.join("shells.log");
    for file in [".profile", ".bash_profile", ".bashrc"] {
        let line = format!("echo \"{file} $$\" >> '{}'\n", log.display());
        std::fs::write(home.join(file), line).unwrap();
    }
    home
}

/// The pids of the shells that started in `home`.
fn shells(home: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(home.join("shells.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

/// Runs the workflow with the Codex configuration's `features.shell_snapshot` set to
/// `default_on`, each answer waiting (up to 30 s) until `expect` login shells have started;
/// the number of login shells that started.
async fn login_shells(default_on: bool, expect: usize) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let home = marking_home(scratch.path());
    let watched = home.clone();
    let env = TestEnv::start(move |request: &MockRequest| {
        let started = Instant::now();
        while shells(&watched).len() < expect && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
        }
        MockReply::text(format!(
            "answered {}",
            request.last_user_text().unwrap_or_default()
        ))
    })
    .await;
    if default_on {
        let config = env.codex_home().join("config.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        let on = text.replace("shell_snapshot = false", "shell_snapshot = true");
        assert_ne!(on, text);
        std::fs::write(&config, on).unwrap();
    }
    let file = write(&env.work(), "shells.yaml", WORKFLOW);
    let mut cmd = command(&env, &["run", &file, "--jobs", "3", "--output", "json"]);
    cmd.env("HOME", &home);
    let out = run(cmd).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    shells(&home).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_runs_the_login_shell_plain_does_not_and_unset_keeps_the_codex_default() {
    assert_eq!(
        login_shells(false, 1).await,
        1,
        "codex's default off: only `snap` runs a login shell"
    );
    assert_eq!(
        login_shells(true, 2).await,
        2,
        "codex's default on: `snap` and `unset` do, `plain` does not"
    );
}

#[tokio::test]
async fn the_plan_shows_each_steps_environment() {
    let env = TestEnv::start(|_: &MockRequest| MockReply::text("unused")).await;
    let file = write(&env.work(), "shells.yaml", WORKFLOW);
    let plan = weft_plan(&env, &file).await;
    assert!(plan.contains("environment snapshot"), "{plan}");
    assert!(plan.contains("environment plain"), "{plan}");
    assert_eq!(plan.matches("environment ").count(), 2, "{plan}");
}

async fn weft_plan(env: &TestEnv, file: &str) -> String {
    let out = support::cli::weft(env, &["plan", file]).await;
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
