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

const OPTIONAL_NOTE: &str = "steps:\n  a:\n    prompt: p\n    output_schema: { type: object, required: [n], properties: { n: { type: integer }, note: { type: string } } }\n  b:\n    prompt: \"{{ steps.a.output.note }}\"\n";

#[test]
fn warnings_are_printed_and_do_not_fail_validate_unless_denied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    std::fs::write(&file, OPTIONAL_NOTE).unwrap();
    let file = file.display().to_string();
    let out = weft(&["validate", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("ok: {file} (2 steps, 1 warning)\n")
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "warning: `steps.a.output.note` is optional and is read without a default\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("\n1 warning in 1 valid file\n"),
        "{stderr}"
    );
    let denied = weft(&["validate", "--deny-warnings", &file]);
    assert_eq!(denied.status.code(), Some(2));
    assert!(
        text(&denied.stderr).ends_with("\n1 warning in 1 of 1 file (--deny-warnings)\n"),
        "{}",
        text(&denied.stderr)
    );
    let json = weft(&["validate", "--format", "json", &file]);
    assert_eq!(json.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    let first = &doc["files"][0]["diagnostics"][0];
    assert_eq!(
        (
            first["severity"].clone(),
            first["line"].clone(),
            first["column"].clone()
        ),
        ("warning".into(), 6.into(), 17.into())
    );
}

#[test]
fn plan_and_run_type_check_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    std::fs::write(
        &file,
        "inputs:\n  m: { type: string }\nsteps:\n  a:\n    prompt: \"{{ inputs.m | lenght }}\"\n",
    )
    .unwrap();
    let file = file.display().to_string();
    for args in [
        vec!["plan", &file],
        vec!["run", &file, "--dry-run", "-i", "m=x"],
    ] {
        let out = weft(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr)
                .starts_with("error: unknown filter `lenght`; did you mean `length`?\n"),
            "{}",
            text(&out.stderr)
        );
    }
}
