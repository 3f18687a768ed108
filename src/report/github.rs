//! GitHub Actions (`GITHUB_ACTIONS=true`): `::error` annotations for failed steps,
//! `::warning` for declined approvals and for gates that wait for an answer, and a
//! Markdown summary appended to `$GITHUB_STEP_SUMMARY` when the run finishes (with the
//! command that answers a waiting gate).

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use super::summary::{duration, tokens};
use super::{EventWriter, ReportError};
use crate::engine::agent::Usage;
use crate::engine::event::{RunEvent, Status};

struct Row {
    step: String,
    status: Status,
    duration_ms: u64,
    attempts: u32,
    usage: Usage,
    output: Option<Value>,
    reused: bool,
}

/// Writes annotations as they happen and the step summary at the end.
pub struct GithubActions<W: Write + Send> {
    out: W,
    summary: Option<PathBuf>,
    resume_hint: String,
    run_id: String,
    workflow: String,
    rows: Vec<Row>,
    /// Gates waiting for an answer: their step ids.
    waiting: Vec<String>,
}

impl<W: Write + Send> GithubActions<W> {
    /// Annotations go to `out` (the runner reads workflow commands on stdout and stderr);
    /// the summary is appended to `summary` when set.
    pub fn new(out: W, summary: Option<PathBuf>, resume_hint: &str) -> Self {
        Self {
            out,
            summary,
            resume_hint: resume_hint.to_string(),
            run_id: String::new(),
            workflow: String::new(),
            rows: Vec::new(),
            waiting: Vec::new(),
        }
    }

    fn annotate(&mut self, level: &str, title: &str, message: &str) {
        let _ = writeln!(
            self.out,
            "::{level} title={}::{}",
            escape_property(title),
            escape_data(message)
        );
    }

    fn append_summary(
        &mut self,
        status: Status,
        duration_ms: u64,
        usage: &Usage,
    ) -> Result<(), ReportError> {
        let Some(path) = &self.summary else {
            return Ok(());
        };
        let text = markdown(self, status, duration_ms, usage);
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        appended.map_err(|source| ReportError {
            what: format!("cannot append to `{}`", path.display()),
            source,
        })
    }
}

fn markdown<W: Write + Send>(
    g: &GithubActions<W>,
    status: Status,
    duration_ms: u64,
    usage: &Usage,
) -> String {
    let icon = match status {
        Status::Succeeded => "✅",
        Status::Failed => "❌",
        Status::Interrupted => "⏹️",
        Status::Skipped => "⏭️",
        Status::Waiting => "⏸️",
    };
    let mut md = format!(
        "### {icon} weft: workflow `{}` {}\n\nRun `{}` in {}.\n\n\
         | step | status | duration | attempts | tokens | output |\n\
         | --- | --- | ---: | ---: | ---: | --- |\n",
        g.workflow,
        status.as_str(),
        g.run_id,
        duration(duration_ms)
    );
    for r in &g.rows {
        let kept = if r.reused { " (kept)" } else { "" };
        md.push_str(&format!(
            "| {} | {}{kept} | {} | {} | {} | {} |\n",
            r.step,
            r.status.as_str(),
            duration(r.duration_ms),
            r.attempts,
            tokens(&r.usage),
            short_output(r.output.as_ref())
        ));
    }
    md.push_str(&format!(
        "\n**Tokens:** {} ({} input, {} cached, {} output)\n",
        tokens(usage),
        usage.input_tokens,
        usage.cached_input_tokens,
        usage.output_tokens
    ));
    for step in &g.waiting {
        md.push_str(&format!(
            "\nStep `{step}` waits for an answer. To approve: `{hint} --approve {step}` \
             (add `--reply TEXT` or `--reply-file FILE`); to reject: `{hint} --reject {step}`\n",
            hint = g.resume_hint
        ));
    }
    if status != Status::Succeeded && g.waiting.is_empty() {
        md.push_str(&format!(
            "\nTo continue where it stopped: `{}`\n",
            g.resume_hint
        ));
    }
    md.push('\n');
    md
}

/// The output as inline code when it is short and on one line, else nothing.
fn short_output(output: Option<&Value>) -> String {
    let text = match output {
        None | Some(Value::Null) => return String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() > 80 || text.contains('\n') || text.contains('`') {
        return "…".into();
    }
    format!("`{}`", text.replace('|', "\\|"))
}

/// Escapes a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

impl<W: Write + Send> EventWriter for GithubActions<W> {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        match event {
            RunEvent::RunStarted {
                run_id, workflow, ..
            } => {
                self.run_id = run_id.clone();
                self.workflow = workflow.clone();
            }
            RunEvent::ApprovalDecided {
                step,
                kind,
                subject,
                approved: false,
                reason,
                ..
            } => {
                let title = format!("weft: declined {kind} in step {step}");
                self.annotate("warning", &title, &format!("`{subject}`: {reason}"));
            }
            RunEvent::GateWaiting { step, question, .. } => {
                let title = format!("weft: step {step} waits for an answer");
                let message = format!(
                    "{question}\nTo approve: {hint} --approve {step} [--reply TEXT]\nTo reject: {hint} --reject {step} [--reply TEXT]",
                    hint = self.resume_hint
                );
                self.annotate("warning", &title, &message);
                if !self.waiting.contains(step) {
                    self.waiting.push(step.clone());
                }
            }
            RunEvent::StepFinished {
                step,
                index: None,
                status,
                error,
                output,
                duration_ms,
                usage,
                attempts,
                reused,
                ..
            } => {
                if *status == Status::Failed {
                    let title = format!("weft: step {step} failed");
                    self.annotate("error", &title, error.as_deref().unwrap_or("failed"));
                }
                self.rows.push(Row {
                    step: step.clone(),
                    status: *status,
                    duration_ms: *duration_ms,
                    attempts: *attempts,
                    usage: *usage,
                    output: output.clone(),
                    reused: *reused,
                });
            }
            RunEvent::RunFinished {
                status,
                duration_ms,
                usage,
            } => return self.append_summary(*status, *duration_ms, usage),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
        assert_eq!(short_output(Some(&Value::String("a|b".into()))), "`a\\|b`");
        assert_eq!(short_output(Some(&Value::String("x".repeat(81)))), "…");
    }
}
