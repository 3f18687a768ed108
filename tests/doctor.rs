//! `weft doctor` through the real codex: every check passes on a ready machine, each
//! failure is named with one line of advice and a non-zero exit, and `weft run` names the
//! same failures in the same words.

mod support;

use std::path::Path;
use std::process::Output;

use support::cli::{command, run, stderr};
use support::{TestEnv, write_script};
use weft::client::diagnose::supported_range;
use weft::mock::MockReply;

async fn doctor(env: &TestEnv, extra: &[(&str, &str)]) -> Output {
    let mut cmd = command(env, &["doctor"]);
    cmd.env_remove("OPENAI_API_KEY").env_remove("CODEX_API_KEY");
    for (key, value) in extra {
        cmd.env(key, value);
    }
    run(cmd).await
}

async fn weft_run(env: &TestEnv, extra: &[(&str, &str)]) -> Output {
    std::fs::write(
        env.work().join("hi.yaml"),
        "steps:\n  hi:\n    prompt: hi\n",
    )
    .unwrap();
    let mut cmd = command(env, &["run", "hi.yaml"]);
    cmd.env_remove("OPENAI_API_KEY").env_remove("CODEX_API_KEY");
    for (key, value) in extra {
        cmd.env(key, value);
    }
    run(cmd).await
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The problem and the advice of the failed check `name`.
fn failure(out: &Output, name: &str) -> (String, String) {
    let text = stdout(out);
    let mut lines = text.lines();
    let prefix = format!("FAIL  {name}");
    let Some(line) = lines.find(|l| l.starts_with(&prefix)) else {
        panic!("no failed `{name}` check in:\n{text}");
    };
    let what = line[prefix.len()..].trim().to_owned();
    let advice = lines.next().unwrap_or_default().trim().to_owned();
    (what, advice)
}

#[tokio::test]
async fn every_check_passes_on_a_ready_machine() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let out = doctor(&env, &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ok    "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "codex",
            "CODEX_HOME",
            "app-server",
            "credentials",
            "sandbox"
        ]
    );
    assert!(
        text.contains(&format!("weft supports {}", supported_range())),
        "{text}"
    );
    assert!(
        text.contains("none needed by the configured model provider"),
        "{text}"
    );
    assert!(
        text.contains("a read-only command ran, and could not write"),
        "{text}"
    );
    assert!(text.ends_with("all 5 checks passed\n"), "{text}");
}

#[tokio::test]
async fn a_missing_codex_is_named_the_same_by_doctor_and_run() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let missing = [("CODEX_BIN", "/nonexistent/codex")];
    let out = doctor(&env, &missing).await;
    assert_eq!(out.status.code(), Some(1));
    let (what, advice) = failure(&out, "codex");
    assert_eq!(what, "the codex binary `/nonexistent/codex` was not found");
    assert!(advice.contains("npm install -g @openai/codex@"), "{advice}");
    let ran = weft_run(&env, &missing).await;
    assert_eq!(ran.status.code(), Some(3));
    assert!(
        stderr(&ran).contains(&format!("{what}: {advice}")),
        "{}",
        stderr(&ran)
    );
}

#[tokio::test]
async fn missing_credentials_are_named_the_same_by_doctor_and_run() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let home = env.dir.path().join("openai-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "check_for_update_on_startup = false\n[analytics]\nenabled = false\n",
    )
    .unwrap();
    let openai = [("CODEX_HOME", home.to_str().unwrap())];
    let out = doctor(&env, &openai).await;
    assert_eq!(out.status.code(), Some(1));
    let (what, advice) = failure(&out, "credentials");
    assert_eq!(what, "the agent has no model credentials");
    assert!(advice.starts_with("run `codex login`"), "{advice}");
    assert!(stdout(&out).contains("ok    sandbox"), "{}", stdout(&out));
    let ran = weft_run(&env, &openai).await;
    assert_eq!(ran.status.code(), Some(3));
    assert!(
        stderr(&ran).contains(&format!("{what}: {advice}")),
        "{}",
        stderr(&ran)
    );
}

#[tokio::test]
async fn a_config_that_stops_the_app_server_is_named_the_same_by_doctor_and_run() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let config = env.codex_home().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "approval_policy = \"never\"",
            "approval_policy = \"untrusted\"",
        ),
    )
    .unwrap();
    let out = doctor(&env, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let (what, advice) = failure(&out, "app-server");
    assert!(
        what.starts_with("the app-server stopped at start"),
        "{what}"
    );
    assert!(what.contains("approval_policy"), "{what}");
    assert!(advice.contains("config.toml"), "{advice}");
    let (skipped, _) = failure(&out, "credentials");
    assert_eq!(skipped, "not checked: the app-server did not start");
    let ran = weft_run(&env, &[]).await;
    assert_eq!(ran.status.code(), Some(3));
    assert!(
        stderr(&ran).contains(&format!("{what}: {advice}")),
        "{}",
        stderr(&ran)
    );
}

#[tokio::test]
async fn an_unsupported_version_and_an_unreadable_codex_home_are_failures() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let old = write_script(env.dir.path(), "old-codex", "echo 'codex-cli 0.150.0'\n");
    let not_a_dir = env.dir.path().join("a-file");
    std::fs::write(&not_a_dir, "not a directory").unwrap();
    let extra = [
        ("CODEX_BIN", old.to_str().unwrap()),
        ("CODEX_HOME", not_a_dir.to_str().unwrap()),
    ];
    let out = doctor(&env, &extra).await;
    assert_eq!(out.status.code(), Some(1));
    let (what, advice) = failure(&out, "codex");
    let expected = format!(
        "codex 0.150.0 is not supported (weft supports {})",
        supported_range()
    );
    assert_eq!(what, expected);
    assert!(
        advice.starts_with("install a supported version"),
        "{advice}"
    );
    let (what, _) = failure(&out, "CODEX_HOME");
    assert!(
        what.starts_with(&format!("cannot read `{}`", not_a_dir.display())),
        "{what}"
    );
    assert!(
        stdout(&out).ends_with("5 of 5 checks failed\n"),
        "{}",
        stdout(&out)
    );
    let (skipped, _) = failure(&out, "sandbox");
    assert_eq!(skipped, "not checked: no usable codex binary");
    assert!(!Path::new(&not_a_dir).is_dir());
}

#[tokio::test]
async fn weft_run_warns_about_a_codex_outside_the_supported_range() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let fake = write_script(
        env.dir.path(),
        "old-app-server",
        "read -r line\nprintf '%s\\n' '{\"id\":1,\"result\":{\"userAgent\":\"fake/0.150.0 (x)\"}}'\nread -r line\nexit 1\n",
    );
    let ran = weft_run(&env, &[("CODEX_BIN", fake.to_str().unwrap())]).await;
    assert_eq!(ran.status.code(), Some(3));
    let expected = format!(
        "warning: codex 0.150.0 is not supported (weft supports {}): install a supported version",
        supported_range()
    );
    assert!(stderr(&ran).contains(&expected), "{}", stderr(&ran));
}
