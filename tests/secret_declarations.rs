//! Declaring secrets: `secret: true` on inputs and `{ name, secret: true }` in `env`, their
//! diagnostics, the length rule, errors that never echo a secret, what `weft plan` shows,
//! the lint of templates that change a secret, and a dry run that prints `***`.

use std::path::Path;

use clap::Parser;
use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};
use weft::plan::{Format, render};
use weft::template::Renderer;
use weft::workflow::inputs::{self, InputError};
use weft::workflow::{Severity, Workflow, load_str, secrets};

const DECLARED: &str = r#"
name: sec
env: [CI, { name: GH_TOKEN, secret: true }, { name: PLAIN }]
inputs:
  token: { type: string, secret: true }
  who: { type: string, default: world }
steps:
  use:
    prompt: "Use {{ inputs.token }} and {{ env.GH_TOKEN }} for {{ inputs.who }}"
  after:
    needs: [use]
    if: env.CI == 'true'
    prompt: "Summarise {{ steps.use.output }}"
"#;

fn workflow(yaml: &str) -> Workflow {
    load_str("w.yaml", yaml, Path::new(".")).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// `(line, column, message)` of each error the loader reports for `yaml`.
fn errors(yaml: &str) -> Vec<(usize, usize, String)> {
    match load_str("w.yaml", yaml, Path::new(".")) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .to_json()
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect(),
    }
}

/// `(line, column, message)` of each warning of the type-check.
fn warnings(yaml: &str) -> Vec<(usize, usize, String)> {
    let workflow = workflow(yaml);
    let renderer = Renderer::new();
    weft::typing::check(&workflow, renderer.environment())
        .0
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| {
            let json = d.to_json(&workflow.source);
            (json.line, json.column, json.message)
        })
        .collect()
}

/// Runs `weft ARGS` in this process; its exit code, stdout and stderr.
fn weft(args: &[&str]) -> (i32, String, String) {
    let cli = weft::cli::Cli::parse_from(std::iter::once("weft").chain(args.iter().copied()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = weft::cli::run(cli, &mut out, &mut err);
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (code, text(out), text(err))
}

#[test]
fn both_env_forms_and_secret_inputs_load() {
    let w = workflow(DECLARED);
    let names: Vec<&str> = w.env.iter().map(|e| e.value.as_str()).collect();
    assert_eq!(names, ["CI", "GH_TOKEN", "PLAIN"]);
    assert_eq!(w.secret_env, ["GH_TOKEN"]);
    assert_eq!(w.secret_inputs().collect::<Vec<_>>(), ["token"]);
    assert_eq!(w.secret_paths(), ["inputs.token", "env.GH_TOKEN"]);
    assert_eq!(w.secrets_read_by(0), ["inputs.token", "env.GH_TOKEN"]);
    assert!(w.secrets_read_by(1).is_empty());
}

#[test]
fn a_secret_must_be_a_string_without_a_default() {
    let yaml = "inputs:\n  n: { type: integer, secret: true }\n  d: { type: string, secret: true, default: hunter2hunter2 }\nsteps:\n  a:\n    prompt: p\n";
    assert_eq!(
        errors(yaml),
        vec![
            (
                2,
                31,
                "input `n` is an `integer`: only a `string` input can be secret".into()
            ),
            (
                3,
                45,
                "secret input `d` has a `default`, which puts the secret in the workflow file"
                    .into()
            ),
        ]
    );
}

#[test]
fn env_entries_are_checked_where_they_are_written() {
    let yaml = "env: [CI, { name: bad-name }, { nme: X, secret: true }, { name: CI, secret: true }, { name: T, secret: yes }]\nsteps:\n  a:\n    prompt: p\n";
    assert_eq!(
        errors(yaml),
        vec![
            (1, 19, "invalid environment variable name `bad-name`".into()),
            (1, 33, "unknown key `nme`; did you mean `name`?".into()),
            (
                1,
                65,
                "environment variable `CI` is listed twice in `env`".into()
            ),
            (
                1,
                104,
                "expected a boolean for `secret`, found a string".into()
            ),
        ]
    );
}

#[test]
fn the_json_schema_describes_secrets() {
    let schema: Value = serde_json::from_str(weft::workflow::WORKFLOW_SCHEMA).unwrap();
    let input = &schema["$defs"]["input"]["properties"]["secret"];
    assert_eq!(input["type"], "boolean");
    let entry = &schema["$defs"]["env_entry"];
    assert_eq!(entry["type"], json!(["string", "object"]));
    assert_eq!(entry["properties"]["secret"]["type"], "boolean");
}

#[test]
fn plan_names_the_secrets_and_the_steps_that_read_them_never_a_value() {
    let w = workflow(DECLARED);
    let plan = weft::plan::Plan::build(&w).unwrap();
    let text = render(&plan, &w, Format::Text);
    assert!(
        text.contains(
            "secrets: `inputs.token`, `env.GH_TOKEN` (masked as *** in everything weft writes)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("    secrets   `inputs.token`, `env.GH_TOKEN` (read by its templates)\n"),
        "{text}"
    );
    assert_eq!(text.matches("    secrets ").count(), 1, "{text}");
    let json: Value = serde_json::from_str(&render(&plan, &w, Format::Json)).unwrap();
    assert_eq!(json["secrets"], json!(["inputs.token", "env.GH_TOKEN"]));
    assert_eq!(
        json["steps"][0]["secrets"],
        json!(["inputs.token", "env.GH_TOKEN"])
    );
    assert_eq!(json["steps"][1]["secrets"], json!([]));
}

#[test]
fn short_secrets_are_refused_without_showing_them() {
    let w = workflow(DECLARED);
    let given = |token: &str| -> Map<String, Value> {
        json!({ "token": token, "who": "x" })
            .as_object()
            .cloned()
            .unwrap()
    };
    let none = |_: &str| None;
    let error = secrets::collect(&w, &given("abc1234"), none).unwrap_err();
    assert_eq!(
        error.to_string(),
        "secret input `token` has 7 character(s); a secret needs at least 8, or masking it would garble unrelated text"
    );
    let env = |_: &str| Some("  short\n".to_string());
    let error = secrets::collect(&w, &given("long-enough"), env).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("secret environment variable `GH_TOKEN` has 5")
    );
    assert!(!error.to_string().contains("short"));
    let blank = |_: &str| Some(String::new());
    assert_eq!(
        secrets::collect(&w, &given("***"), blank).unwrap(),
        Vec::<String>::new(),
        "a blank value and the replay's stand-in hide nothing"
    );
    let padded = |_: &str| Some("ghp_0123456789\n".to_string());
    assert_eq!(
        secrets::collect(&w, &given("long-enough"), padded).unwrap(),
        ["long-enough", "ghp_0123456789", "ghp_0123456789\n"],
        "a value and its trimmed form"
    );
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    let w = workflow(DECLARED);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inputs.yaml");
    std::fs::write(&file, "token: 1234567890123\n").unwrap();
    let error = inputs::resolve(&w, &[], Some(&file)).unwrap_err();
    assert_eq!(
        error,
        InputError::Type {
            name: "token".into(),
            expected: "a string".into(),
            value: "***".into(),
        }
    );
    assert!(!error.to_string().contains("1234567890123"));
}

#[test]
fn templates_that_change_a_secret_are_warned_about() {
    let yaml = "env: [{ name: KEY, secret: true }]\ninputs:\n  token: { type: string, secret: true }\nsteps:\n  a:\n    prompt: \"{{ inputs.token | upper }} {{ env.KEY[:4] }} {{ inputs['token'] | replace('t', 'T') }}\"\n  b:\n    prompt: \"{{ inputs.token | trim }} {{ inputs.token | tojson }} {{ inputs.token | length }} {{ inputs.token | default('') }} {% for inputs in [{'token': 'x'}] %}{{ inputs.token | upper }}{% endfor %}\"\n";
    let found = warnings(yaml);
    let messages: Vec<(usize, usize, &str)> =
        found.iter().map(|(l, c, m)| (*l, *c, m.as_str())).collect();
    assert_eq!(
        messages,
        vec![
            (
                6,
                17,
                "`inputs.token` is secret and `upper` changes it: weft masks only the value as given, so the result is written unmasked"
            ),
            (
                6,
                44,
                "`env.KEY` is secret and a part of it is taken: weft masks only the value as given, so the result is written unmasked"
            ),
            (
                6,
                62,
                "`inputs.token` is secret and `replace` changes it: weft masks only the value as given, so the result is written unmasked"
            ),
        ],
        "`b` keeps the secret, or a local shadows `inputs`"
    );
}

#[test]
fn a_dry_run_prints_the_prompts_with_the_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    std::fs::write(&file, DECLARED.replace("env.GH_TOKEN", "inputs.who")).unwrap();
    let file = file.to_str().unwrap();
    let token = "token=tok\"en\\Ü-4242-abcd";
    let (code, out, err) = weft(&["run", file, "--dry-run", "--input", token]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Use *** and world for world"), "{out}");
    assert!(!out.contains("4242") && !err.contains("4242"), "{out}{err}");
    let (code, out, err) = weft(&["run", file, "--dry-run", "--input", "token=hunter2"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: secret input `token` has 7 character(s); a secret needs at least 8, or masking it would garble unrelated text\n"
    );
}
