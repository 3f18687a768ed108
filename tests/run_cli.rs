//! `weft run` before the agent starts: dry runs, inputs, invalid files, and the text output.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use support::TestEnv;
use weft::mock::MockReply;

fn weft_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .current_dir(dir)
        .env("CODEX_BIN", "/nonexistent/codex")
        .output()
        .expect("run weft")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const TWO_STEPS: &str = r#"
name: greet
inputs:
  who: { type: string }
  times: { type: integer, default: 2 }
steps:
  hello:
    prompt: Say hello to {{ inputs.who }} {{ inputs.times }} times.
  thanks:
    prompt: Thank {{ inputs.who }} for {{ steps.hello.output }}.
outputs:
  greeting: "{{ steps.hello.output }}"
"#;

#[test]
fn dry_run_renders_what_it_can_and_starts_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("greet.yaml"), TWO_STEPS).expect("write");
    let out = weft_in(
        dir.path(),
        &["run", "greet.yaml", "--dry-run", "--input", "who=Ada"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("--- hello\nSay hello to Ada 2 times."),
        "{stdout}"
    );
    assert!(
        stdout.contains("--- thanks (rendered at run time: it waits for `hello`)\n"),
        "{stdout}"
    );
    assert!(
        !dir.path().join(".weft").exists(),
        "a dry run leaves no record"
    );
}

const DRY: &str = r#"
name: dry
env: [WEFT_TEST_GREETING]
inputs:
  files: { type: array }
  who: { type: string, default: world }
steps:
  hello:
    prompt: "{{ env.WEFT_TEST_GREETING }} {{ inputs.who }}"
  each:
    for_each: inputs.files
    as: f
    prompt: "Edit {{ f }} ({{ loop.index }}/{{ loop.length }})"
  never:
    if: inputs.who == 'nobody'
    prompt: never
  fifth:
    prompt: "{{ inputs.files[4] }}"
"#;

#[test]
fn dry_run_renders_with_real_inputs_and_env_and_fails_on_a_render_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dry.yaml"), DRY).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "run",
            "dry.yaml",
            "--dry-run",
            "-i",
            r#"files=["a.rs", "b.rs"]"#,
        ])
        .current_dir(dir.path())
        .env("WEFT_TEST_GREETING", "Hi")
        .output()
        .expect("run weft");
    let stdout = text(&out.stdout);
    let prompts = &stdout[stdout.find("\nprompts:\n").expect("prompts")..];
    assert_eq!(
        prompts,
        "\nprompts:\n--- hello\nHi world\n--- each#1\nEdit a.rs (1/2)\n--- each#2\nEdit b.rs (2/2)\n--- never (skipped: `if` is false)\n--- fifth (does not render: see the error)\n"
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: `prompt` of step `fifth` fails to render: `inputs.files[4]` is undefined\n  --> dry.yaml:18:17\n   |\n18 |     prompt: \"{{ inputs.files[4] }}\"\n   |                 ^^^^^^^^^^^^^^^\n\n"
    );
}

#[test]
fn a_missing_or_mistyped_input_is_exit_2_naming_the_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("greet.yaml"), TWO_STEPS).expect("write");
    let missing = weft_in(dir.path(), &["run", "greet.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("`who`"),
        "{}",
        text(&missing.stderr)
    );
    let mistyped = weft_in(
        dir.path(),
        &["run", "greet.yaml", "-i", "who=Ada", "-i", "times=many"],
    );
    assert_eq!(mistyped.status.code(), Some(2));
    assert!(
        text(&mistyped.stderr).contains("`times`"),
        "{}",
        text(&mistyped.stderr)
    );
}

#[test]
fn an_invalid_workflow_is_exit_2_with_its_diagnostics() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.yaml"), "steps:\n  a:\n    promt: hi\n").expect("write");
    let out = weft_in(dir.path(), &["run", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown key `promt`; did you mean `prompt`?"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.yaml:3:5"), "{stderr}");
}

#[test]
fn an_agent_that_cannot_start_is_exit_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("greet.yaml"), TWO_STEPS).expect("write");
    let out = weft_in(dir.path(), &["run", "greet.yaml", "-i", "who=Ada"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("could not start the agent"), "{stderr}");
    assert!(stderr.contains("/nonexistent/codex"), "{stderr}");
    let runs = dir.path().join(".weft/runs");
    let run = std::fs::read_dir(&runs)
        .expect("a run record")
        .next()
        .expect("one run");
    let state =
        std::fs::read_to_string(run.expect("entry").path().join("run.json")).expect("run.json");
    assert!(state.contains(r#""status": "failed""#), "{state}");
}

#[tokio::test]
async fn text_output_prints_the_workflow_outputs_and_the_plain_log_goes_to_stderr() {
    let env = TestEnv::start(|r| {
        let prompt = r.last_user_text().unwrap_or_default();
        MockReply::text(if prompt.starts_with("Say") {
            "hi Ada"
        } else {
            "you're welcome"
        })
    })
    .await;
    std::fs::write(env.work().join("greet.yaml"), TWO_STEPS).expect("write");
    let out = support::cli::weft(&env, &["run", "greet.yaml", "-i", "who=Ada"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "greeting: hi Ada\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[hello] succeeded in "), "{stderr}");
    assert!(stderr.contains("[thanks] succeeded in "), "{stderr}");
    assert!(stderr.contains("run succeeded in "), "{stderr}");
    assert!(
        !stderr.chars().any(|c| c == '\u{1b}'),
        "no control characters off a terminal"
    );
    let records: Vec<_> = std::fs::read_dir(env.work().join(".weft/runs"))
        .expect("a run record")
        .collect();
    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn a_run_without_credentials_stops_at_once_saying_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(
        home.join("config.toml"),
        "check_for_update_on_startup = false\n[analytics]\nenabled = false\n",
    )
    .expect("config.toml");
    std::fs::write(dir.path().join("greet.yaml"), TWO_STEPS).expect("write");
    let out = support::within(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["run", "greet.yaml", "-i", "who=Ada"])
            .current_dir(dir.path())
            .env("CODEX_BIN", support::codex_bin())
            .env("CODEX_HOME", &home)
            .env("TMPDIR", dir.path())
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .output(),
    )
    .await
    .expect("run weft");
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the agent has no model credentials: run `codex login`"),
        "{stderr}"
    );
}
