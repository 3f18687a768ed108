//! `weft test [DIR]`: replay every workflow that has a cassette and expectations beside
//! it, in a scratch copy of its workspace (made a git repository with one commit, as a CI
//! checkout is, so that isolated steps run), and compare status, outputs, step results
//! and changed files with `NAME.expect.json`.
//!
//! Each workflow runs as `weft run NAME.yaml --replay NAME.cassette.json --output json`
//! (this same binary) in its own process and directory, so a test sees exactly what a
//! user's replay does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::args::TestArgs;
use super::commands::Writer;
use super::workspace::{changes, copy_dir, init_git, snapshot};
use crate::cassette::labeled_diff;
use crate::error::{EXIT_STEP_FAILED, EXIT_SUCCESS, Error};

/// One workflow to test: `DIR/NAME.yaml` with its cassette and expectations.
struct Case {
    name: String,
    workflow: PathBuf,
    cassette: PathBuf,
    expect: PathBuf,
}

/// `weft test`.
pub fn test(args: &TestArgs, out: &mut Writer) -> Result<i32, Error> {
    let cases = find_cases(&args.dir)
        .map_err(|e| Error::io(format!("cannot read `{}`", args.dir.display()), e))?;
    if cases.is_empty() {
        return Err(Error::Usage(format!(
            "no workflow in `{}` has both NAME.cassette.json and NAME.expect.json",
            args.dir.display()
        )));
    }
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let started = Instant::now();
        let verdict = run_case(case, args);
        let secs = started.elapsed().as_secs_f64();
        match verdict {
            Ok(()) => {
                passed += 1;
                let _ = writeln!(out, "PASS {} ({secs:.1}s)", case.name);
            }
            Err(why) => {
                failed += 1;
                let _ = writeln!(out, "FAIL {} ({secs:.1}s)", case.name);
                let _ = writeln!(out, "{}", indent(&why.to_string()));
            }
        }
    }
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        EXIT_SUCCESS
    } else {
        EXIT_STEP_FAILED
    })
}

fn find_cases(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".yaml").or(name.strip_suffix(".yml")) else {
            continue;
        };
        let cassette = dir.join(format!("{stem}.cassette.json"));
        let expect = dir.join(format!("{stem}.expect.json"));
        if cassette.is_file() && expect.is_file() {
            cases.push(Case {
                name: stem.to_string(),
                workflow: path.clone(),
                cassette,
                expect,
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// Replays one case and compares (or, with `--update`, rewrites its expectations).
fn run_case(case: &Case, args: &TestArgs) -> Result<(), Error> {
    let expected = read_json(&case.expect)?;
    let scratch = tempfile::Builder::new()
        .prefix("weft-test-")
        .tempdir()
        .map_err(|e| Error::io("cannot create a scratch directory", e))?;
    let work = scratch.path().join("work");
    match expected["workspace"].as_str() {
        Some(fixture) => {
            let from = case.expect.parent().unwrap_or(Path::new(".")).join(fixture);
            copy_dir(&from, &work)
                .map_err(|e| Error::io(format!("cannot copy workspace `{}`", from.display()), e))?;
        }
        None => std::fs::create_dir_all(&work)
            .map_err(|e| Error::io(format!("cannot create `{}`", work.display()), e))?,
    }
    init_git(&work)
        .map_err(|e| Error::Failed(format!("cannot make the workspace a git repository: {e}")))?;
    let before = snapshot(&work);
    let gates = gate_args(case, &expected)?;
    let report = replay(case, args, &gates, &work, &scratch.path().join("runs"))?;
    let mut actual = summarize(&report);
    actual.insert(
        "files".into(),
        Value::Object(changes(&before, &snapshot(&work))),
    );
    for key in ["workspace", "gates"] {
        if let Some(value) = expected.get(key) {
            actual.insert(key.into(), value.clone());
        }
    }
    let actual = Value::Object(order_like(actual));
    if args.update {
        return write_json(&case.expect, &actual);
    }
    if actual == expected {
        return Ok(());
    }
    let show = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let diff = labeled_diff(&show(&expected), &show(&actual), ("expected", "actual"));
    let stderr = report["stderr"].as_str().unwrap_or_default();
    Err(Error::Failed(format!("{diff}\nweft run said:\n{stderr}")))
}

/// The `--approve`/`--reject` arguments of the expectation file's `gates`: each gate's
/// answer, `{"approved": bool, "reply": text}` (the reply optional).
fn gate_args(case: &Case, expected: &Value) -> Result<Vec<String>, Error> {
    let Some(gates) = expected.get("gates") else {
        return Ok(Vec::new());
    };
    let bad = || {
        Error::Usage(format!(
            "`gates` in `{}` maps each gate to {{\"approved\": true|false, \"reply\": \"…\"}}",
            case.expect.display()
        ))
    };
    let mut out = Vec::new();
    for (step, answer) in gates.as_object().ok_or_else(bad)? {
        let approved = answer["approved"].as_bool().ok_or_else(bad)?;
        out.push(if approved { "--approve" } else { "--reject" }.to_string());
        out.push(step.clone());
        match &answer["reply"] {
            Value::Null => {}
            Value::String(reply) => out.extend(["--reply".to_string(), reply.clone()]),
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// Runs the replay (answering gates with `gates`); its JSON report, with the run's stderr
/// under `stderr`.
fn replay(
    case: &Case,
    args: &TestArgs,
    gates: &[String],
    work: &Path,
    runs: &Path,
) -> Result<Value, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::io("cannot find weft itself", e))?;
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(absolute(&case.workflow))
        .arg("--replay")
        .arg(absolute(&case.cassette))
        .args(["--output", "json", "--runs-dir"])
        .arg(runs)
        .args(gates)
        .current_dir(work);
    if let Some(bin) = &args.codex_bin {
        cmd.arg("--codex-bin").arg(absolute(bin));
    }
    let output = cmd.output().map_err(|e| Error::io("cannot run weft", e))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut report: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
        Error::Failed(format!(
            "weft run exited with {} and no report:\n{stderr}",
            output.status
        ))
    })?;
    report["stderr"] = Value::String(stderr);
    Ok(report)
}

/// What a test compares: the run's status, outputs, and each step's status and output.
/// (The replay's stdin is closed, so a gate without an answer in `gates` waits.)
fn summarize(report: &Value) -> Map<String, Value> {
    let steps: Map<String, Value> = report["steps"]
        .as_object()
        .map(|steps| {
            steps
                .iter()
                .map(|(id, s)| {
                    (
                        id.clone(),
                        json!({"status": s["status"], "output": s["output"]}),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("status".into(), report["status"].clone());
    out.insert("outputs".into(), report["outputs"].clone());
    out.insert("steps".into(), Value::Object(steps));
    out
}

/// The keys in the order an expect file lists them: workspace first.
fn order_like(mut map: Map<String, Value>) -> Map<String, Value> {
    let mut ordered = Map::new();
    for key in ["workspace", "gates", "status", "outputs", "steps", "files"] {
        if let Some(v) = map.remove(key) {
            ordered.insert(key.into(), v);
        }
    }
    ordered
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read `{}`", path.display()), e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("`{}` is not JSON: {e}", path.display())))
}

fn write_json(path: &Path, value: &Value) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text)
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
