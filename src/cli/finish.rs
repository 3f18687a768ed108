//! How a session of a run ends: the outputs on stdout (text or one JSON document), the
//! summary table, the errors and what to do next on stderr (the `weft resume` command, or
//! how to answer a gate that waits), and the exit code.

use std::io::Write;

use serde_json::{Map, Value, json};

use super::common_args::{ReportArgs, RunOutput};
use crate::engine::RunReport;
use crate::engine::event::Status;
use crate::error::{EXIT_AGENT, EXIT_INTERRUPTED, EXIT_STEP_FAILED, EXIT_SUCCESS, EXIT_WAITING};
use crate::report::{Colors, summary};

/// Writes the end of a session; the exit code.
pub(super) fn finish(
    args: &ReportArgs,
    report: &RunReport,
    run_id: &str,
    hint: &str,
    colors: Colors,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match args.output {
        RunOutput::Json => {
            let doc = json_report(report, run_id);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let _ = writeln!(out, "{text}");
        }
        RunOutput::Text => {
            for (name, value) in &report.outputs {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                let _ = writeln!(out, "{name}: {text}");
            }
        }
        RunOutput::Off => {}
    }
    let _ = write!(
        err,
        "\n{}",
        summary::table(&report.steps, report.duration.as_millis() as u64, colors)
    );
    if let Some(line) = summary::cache_line(&report.steps) {
        let _ = writeln!(err, "{line}");
    }
    if let Some(fatal) = &report.fatal {
        let _ = writeln!(err, "{} the agent failed: {fatal}", colors.error("error:"));
    }
    for step in report.steps.iter().filter(|s| s.status == Status::Failed) {
        let why = step.error.as_deref().unwrap_or("failed");
        let _ = writeln!(
            err,
            "{} step `{}` failed: {why}",
            colors.error("error:"),
            step.id
        );
    }
    let record = args.runs_dir.join(run_id);
    let _ = writeln!(err, "run record: {}", record.display());
    let waiting = super::gate_prompt::waiting_note(report, hint);
    if !waiting.is_empty() {
        let _ = write!(err, "{waiting}");
    } else if report.status != Status::Succeeded {
        let _ = writeln!(err, "to continue where it stopped: {hint}");
    }
    exit_code(report)
}

/// The exit code of a finished run.
pub fn exit_code(report: &RunReport) -> i32 {
    match report.status {
        Status::Interrupted => EXIT_INTERRUPTED,
        _ if report.fatal.is_some() => EXIT_AGENT,
        Status::Failed => EXIT_STEP_FAILED,
        Status::Waiting => EXIT_WAITING,
        Status::Succeeded | Status::Skipped => EXIT_SUCCESS,
    }
}

fn json_report(report: &RunReport, run_id: &str) -> Value {
    let steps: Map<String, Value> = report
        .steps
        .iter()
        .map(|s| {
            let mut v = json!({
                "status": s.status,
                "output": s.output,
                "thread_id": s.thread_id,
                "usage": s.usage,
                "duration_ms": s.duration_ms,
                "attempts": s.attempts,
                "reused": s.reused,
            });
            if let Value::Object(m) = &mut v {
                if let Some(e) = &s.error {
                    m.insert("error".into(), Value::String(e.clone()));
                }
                if !s.kind.is_turn() {
                    m.insert("kind".into(), json!(s.kind));
                }
                let extra = [
                    ("exit_code", &s.exit_code),
                    ("stderr", &s.stderr),
                    ("iterations", &s.iterations),
                ];
                for (name, value) in extra {
                    if let Some(value) = value {
                        m.insert(name.into(), value.clone());
                    }
                }
                if let Some(patch) = &s.patch {
                    m.insert("patch".into(), json!(patch));
                }
                if s.cached {
                    m.insert("cached".into(), Value::Bool(true));
                }
                if let Some(saved) = &s.saved {
                    m.insert("saved".into(), json!(saved));
                }
            }
            (s.id.clone(), v)
        })
        .collect();
    json!({
        "run_id": run_id,
        "status": report.status,
        "outputs": report.outputs,
        "steps": steps,
        "usage": report.usage,
        "duration_ms": report.duration.as_millis() as u64,
    })
}
