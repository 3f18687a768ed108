//! The `weft` binary: validate, plan and schema, their output and exit codes.

use std::path::Path;
use std::process::{Command, Output};

use pretty_assertions::assert_eq;

fn weft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn broken(dir: &Path) -> String {
    let path = dir.join("broken.yaml");
    std::fs::write(
        &path,
        "steps:\n  a:\n    promt: hi\n  b:\n    prompt: p\n    needs: [c]\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn validate_accepts_the_examples() {
    let out = weft(&[
        "validate",
        "workflows/hello.yaml",
        "workflows/split-module.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: workflows/hello.yaml (1 step)\nok: workflows/split-module.yaml (4 steps)\n"
    );
}

#[test]
fn validate_reports_every_error_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = broken(dir.path());
    let out = weft(&["validate", &file, "workflows/hello.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!(
        "error: unknown key `promt`; did you mean `prompt`?\n --> {file}:3:5\n  |\n3 |     promt: hi\n  |     ^^^^^\n\n\
         error: step `b` needs unknown step `c`\n --> {file}:6:13\n  |\n6 |     needs: [c]\n  |             ^\n\n\
         2 errors in 1 of 2 files\n"
    );
    assert_eq!(text(&out.stderr), expected);
}

#[test]
fn validate_json_is_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    let file = broken(dir.path());
    let out = weft(&["validate", "--format", "json", &file]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let first = &doc["files"][0]["diagnostics"][0];
    assert_eq!(
        (
            first["line"].clone(),
            first["column"].clone(),
            first["message"].clone()
        ),
        (
            3.into(),
            5.into(),
            "unknown key `promt`; did you mean `prompt`?".into()
        )
    );
}

#[test]
fn plan_formats_and_input_checks() {
    for format in ["text", "mermaid", "dot", "json"] {
        let out = weft(&["plan", "workflows/split-module.yaml", "--format", format]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        assert!(!out.stdout.is_empty());
    }
    let out = weft(&[
        "plan",
        "workflows/split-module.yaml",
        "--input",
        "max_files=many",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: input `max_files` must be an integer, got `many`\n"
    );
    let out = weft(&[
        "plan",
        "workflows/split-module.yaml",
        "--input",
        "max_files=3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: missing required input `module`; pass `--input module=...`\n"
    );
}

#[test]
fn schema_prints_the_shipped_schema() {
    let out = weft(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string("schemas/workflow.schema.json").unwrap()
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(weft(&["validate"]).status.code(), Some(2));
    assert_eq!(
        weft(&["plan", "x.yaml", "--format", "svg"]).status.code(),
        Some(2)
    );
}
