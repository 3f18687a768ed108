//! What a run shows and writes for people and tools, end to end: plain output (snapshot),
//! JSON Lines events checked against `schemas/events.schema.json`, JUnit read back by
//! quick-junit, GitHub Actions annotations and step summary.

mod support;

use std::path::Path;

use pretty_assertions::assert_eq;
use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
use serde_json::{Value, json};
use support::TestEnv;
use support::cli::{command, run, run_ids, stderr, weft, write};
use weft::mock::{MockReply, MockRequest};

fn marker(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

/// Replaces durations (`850ms`, `1.2s`, `4m05s`) with `<d>` and squeezes runs of spaces
/// (table columns widen with the durations they hold).
fn redact_durations(text: &str) -> String {
    let is_duration = |w: &str| {
        let w = w.trim_end_matches([',', ':', ')']);
        let body = w
            .strip_suffix("ms")
            .or_else(|| w.strip_suffix('s'))
            .unwrap_or("");
        !body.is_empty()
            && body
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == 'm')
    };
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .map(|w| {
                    if is_duration(w) {
                        let tail: String = w.chars().filter(|c| ",:)".contains(*c)).collect();
                        format!("<d>{tail}")
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn plain_output_is_one_line_per_event() {
    let env = TestEnv::start(|r| {
        if marker(r).starts_with("CHECK") {
            MockReply::text("not json")
        } else {
            MockReply::text("surveyed")
        }
    })
    .await;
    let file = write(
        &env.work(),
        "plain.yaml",
        r#"
name: plain
steps:
  survey:
    prompt: SURVEY
  check:
    prompt: CHECK {{ steps.survey.output }}
    retries: 1
    output_schema: { type: object, properties: { ok: { type: boolean } } }
  report:
    needs: [check]
    prompt: REPORT
"#,
    );
    let out = weft(&env, &["run", &file, "--progress", "plain"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.chars().all(|c| c == '\n' || !c.is_control()),
        "no control characters: {text:?}"
    );
    let id = run_ids(&env).pop().expect("a run");
    let report: Value = {
        let path = env.work().join(".weft/runs").join(&id).join("run.json");
        serde_json::from_slice(&std::fs::read(path).expect("run.json")).expect("json")
    };
    let mut redacted = redact_durations(&text).replace(&id, "<run>");
    for step in report["steps"].as_array().expect("steps") {
        if let Some(thread) = step["thread_id"].as_str() {
            redacted = redacted.replace(thread, "<thread>");
        }
    }
    insta::assert_snapshot!(redacted);
}

#[tokio::test]
async fn color_is_used_when_asked_and_never_off_a_terminal() {
    let env = TestEnv::start(|_| MockReply::text("ok")).await;
    let file = write(&env.work(), "c.yaml", "steps:\n  only:\n    prompt: ONLY\n");
    let always = weft(&env, &["run", &file, "--color", "always"]).await;
    assert!(
        stderr(&always).contains("\x1b[32msucceeded\x1b[0m"),
        "{}",
        stderr(&always)
    );
    let auto = weft(&env, &["run", &file]).await;
    assert!(!stderr(&auto).contains('\x1b'), "{}", stderr(&auto));
    let mut cmd = command(&env, &["run", &file, "--progress", "plain"]);
    cmd.env("NO_COLOR", "1");
    let no_color = run(cmd).await;
    assert!(!stderr(&no_color).contains('\x1b'), "{}", stderr(&no_color));
}

#[tokio::test]
async fn events_are_json_lines_that_match_the_schema() {
    let env = TestEnv::start(|r| {
        if r.is_after_tool_call() {
            return MockReply::text("done");
        }
        match marker(r).as_str() {
            "LIST" => MockReply::Json(json!({"files": ["a", "b"]})),
            m if m.starts_with("RUN") => MockReply::Command {
                cmd: "touch ran.txt".into(),
                escalated: true,
            },
            m => MockReply::text(format!("moved {m}")),
        }
    })
    .await;
    let file = write(
        &env.work(),
        "events.yaml",
        r#"
defaults:
  approval: on-request
steps:
  list:
    prompt: LIST
    output_schema: { type: object, required: [files], additionalProperties: false, properties: { files: { type: array, items: { type: string } } } }
  move:
    for_each: steps.list.output.files
    prompt: MOVE {{ item }}
  run:
    prompt: RUN it
"#,
    );
    let wrong = weft(&env, &["run", &file, "--events", "-"]).await;
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("--output off"),
        "{}",
        stderr(&wrong)
    );

    let out = weft(&env, &["run", &file, "--events", "-", "--output", "off"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/events.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(schema_path).expect("schema")).expect("json");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let id = run_ids(&env).pop().expect("a run");
    let log = env.work().join(".weft/runs").join(&id).join("events.jsonl");
    let recorded = std::fs::read_to_string(log).expect("events.jsonl");
    assert_eq!(
        stdout, recorded,
        "stdout carries the events and nothing else"
    );
    let mut types = Vec::new();
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(line).expect("one JSON object per line");
        let errors: Vec<String> = validator
            .iter_errors(&event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{line}\n{errors:#?}");
        let kind = event["type"].as_str().expect("type").to_string();
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    for expected in [
        "run.started",
        "step.started",
        "turn.delta",
        "turn.usage",
        "turn.activity",
        "approval.requested",
        "approval.decided",
        "step.finished",
        "run.finished",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "no {expected} in {types:?}"
        );
    }
    let bad = json!({"type": "step.finished", "step": "x", "status": "done"});
    assert!(
        !validator.is_valid(&bad),
        "the schema rejects what weft never writes"
    );
}

const MIXED: &str = r#"
name: mixed
defaults:
  approval: on-request
steps:
  list:
    prompt: LIST
    output_schema: { type: object, required: [files], additionalProperties: false, properties: { files: { type: array, items: { type: string } } } }
  move:
    for_each: steps.list.output.files
    prompt: MOVE {{ item }}
  deny:
    prompt: DENY
  broken:
    prompt: BROKEN
    output_schema: { type: object, required: [ok], properties: { ok: { type: boolean } } }
  after:
    needs: [broken]
    prompt: AFTER
"#;

fn mixed_model(r: &MockRequest) -> MockReply {
    if r.is_after_tool_call() {
        return MockReply::text("gave up");
    }
    match marker(r).as_str() {
        "LIST" => MockReply::Json(json!({"files": ["a.rs", "b.rs"]})),
        "DENY" => MockReply::Command {
            cmd: "rm -rf build".into(),
            escalated: true,
        },
        "BROKEN" => MockReply::text("no"),
        m => MockReply::text(format!("ok {m}")),
    }
}

#[tokio::test]
async fn junit_has_a_testcase_per_step_and_element() {
    let env = TestEnv::start(mixed_model).await;
    let file = write(&env.work(), "mixed.yaml", MIXED);
    let junit = env.work().join("junit.xml");
    let junit_arg = junit.display().to_string();
    let out = weft(&env, &["run", &file, "--junit", &junit_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let xml = std::fs::read_to_string(&junit).expect("junit.xml");
    let report = Report::deserialize_from_str(&xml).expect("JUnit that quick-junit reads");
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "mixed");
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["after", "broken", "deny", "list", "move[0]", "move[1]"]
    );
    let case = |name: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .expect("case")
    };
    match &case("broken").status {
        TestCaseStatus::NonSuccess { kind, message, .. } => {
            assert_eq!(*kind, NonSuccessKind::Failure);
            let message = message.as_ref().map(|m| m.as_str()).unwrap_or("");
            assert!(
                message.contains("not valid JSON") || message.contains("JSON"),
                "{message}"
            );
        }
        other => panic!("broken should fail: {other:?}"),
    }
    assert!(matches!(
        case("after").status,
        TestCaseStatus::Skipped { .. }
    ));
    assert!(matches!(
        case("move[1]").status,
        TestCaseStatus::Success { .. }
    ));
    assert!(case("list").time.is_some(), "durations are reported");
    assert_eq!((suite.tests, suite.failures), (6, 1));
}

#[tokio::test]
async fn github_actions_get_annotations_and_a_step_summary() {
    let env = TestEnv::start(mixed_model).await;
    let file = write(&env.work(), "mixed.yaml", MIXED);
    let summary = env.work().join("summary.md");
    std::fs::write(&summary, "# earlier content\n").expect("summary");
    let mut cmd = command(&env, &["run", &file]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let error = err
        .lines()
        .find(|l| l.starts_with("::error title=weft%3A step broken failed::"))
        .unwrap_or_else(|| panic!("no error annotation:\n{err}"));
    assert!(!error.contains('\n'));
    assert!(
        err.lines().any(|l| l
            .starts_with("::warning title=weft%3A declined command in step deny::`rm -rf build`")),
        "{err}"
    );
    let md = std::fs::read_to_string(&summary).expect("summary");
    let id = run_ids(&env).pop().expect("a run");
    assert!(md.starts_with("# earlier content\n"), "appended: {md}");
    assert!(md.contains("weft: workflow `mixed` failed"), "{md}");
    assert!(
        md.contains("| step | status | duration | attempts | tokens | output |"),
        "{md}"
    );
    assert!(md.contains("| move | succeeded |"), "{md}");
    assert!(
        md.contains("`[\"ok MOVE a.rs\",\"ok MOVE b.rs\"]`"),
        "short outputs: {md}"
    );
    assert!(md.contains("| after | skipped |"), "{md}");
    assert!(md.contains("**Tokens:**"), "{md}");
    assert!(md.contains(&format!("`weft resume {id}`")), "{md}");
}
