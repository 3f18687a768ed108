//! [`ScriptUnit`]: a script step (or one element, one iteration of it) run by weft, no
//! agent: its `env` rendered (the only templated values a script ever sees), then run
//! with its `shell` in its `cwd` until it succeeds or its attempts, time or the run end.
//! A non-zero exit fails it, naming the exit code and the tail of stderr.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::process::{self, Ended, Invocation, Ran, STDOUT_LIMIT};
use crate::engine::agent::{AgentEvent, StopReason};
use crate::engine::event::Status;
use crate::engine::looping::IterationBody;
use crate::engine::output::OutputSchema;
use crate::engine::spec::{ScriptSpec, StepSpec};
use crate::engine::threads::ThreadSource;
use crate::engine::unit::{
    Unit, UnitError, UnitFuture, UnitKey, UnitLink, UnitMsg, UnitResult, describe_stop_as,
};
use crate::template::{Renderer, TemplateError};
use crate::vocab::OutputFormat;

/// How many lines of stderr a failure names.
const TAIL_LINES: usize = 5;

/// A script ready to run: its environment rendered.
pub(in crate::engine) struct ScriptUnit {
    pub key: UnitKey,
    pub script: String,
    pub invocation: Invocation,
    pub output: OutputFormat,
    pub schema: Option<Arc<OutputSchema>>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub retry_delay: Duration,
    pub iteration: Option<u32>,
}

/// Makes the script units of one step (each element, each iteration).
pub(in crate::engine) struct ScriptBody {
    pub key: UnitKey,
    pub step: StepSpec,
    pub script: ScriptSpec,
    pub schema: Option<Arc<OutputSchema>>,
    pub retry_delay: Duration,
    pub renderer: Arc<Renderer>,
    /// The run's own directory (`WEFT_RUN_DIR`).
    pub run_dir: Option<PathBuf>,
}

impl IterationBody for ScriptBody {
    fn make(
        &self,
        context: &Value,
        iteration: Option<u32>,
        _thread: Option<ThreadSource>,
    ) -> Result<Box<dyn Unit>, UnitError> {
        let step = &self.step;
        let env = render_env(
            &step.env,
            step.scope,
            self.run_dir.as_deref(),
            context,
            &self.renderer,
        )
        .map_err(|(_, source)| UnitError::Render {
            what: "`env` value",
            source,
        })?;
        Ok(Box::new(ScriptUnit {
            key: self.key,
            script: self.script.run.clone(),
            invocation: Invocation {
                argv: self.step.shell.argv(&self.script.run),
                env,
                cwd: self.step.cwd.clone(),
            },
            output: self.script.output,
            schema: self.schema.clone(),
            timeout: self.step.timeout,
            retries: self.step.retries,
            retry_delay: self.retry_delay,
            iteration,
        }))
    }
}

/// A script's environment: `env` (names and value templates), each value rendered in
/// `context` in the workflow file of `scope`, and `WEFT_RUN_DIR` when the run has its
/// own directory. A value that does not render names its variable.
pub(in crate::engine) fn render_env(
    env: &[(String, String)],
    scope: usize,
    run_dir: Option<&Path>,
    context: &Value,
    renderer: &Renderer,
) -> Result<Vec<(String, String)>, (String, TemplateError)> {
    let mut out = Vec::with_capacity(env.len() + 1);
    if let Some(dir) = run_dir {
        out.push(("WEFT_RUN_DIR".to_string(), dir.display().to_string()));
    }
    for (name, template) in env {
        let value = renderer
            .render_in(scope, template, context)
            .map_err(|e| (name.clone(), e))?;
        out.push((name.clone(), value));
    }
    Ok(out)
}

impl Unit for ScriptUnit {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

enum Next {
    Done,
    Again(String),
}

impl ScriptUnit {
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let started = Instant::now();
        let deadline = self
            .timeout
            .map(|t| (tokio::time::Instant::from_std(started + t), t));
        let mut result = UnitResult::new(self.key);
        let UnitLink { sender, mut stop } = link;
        let max_attempts = self.retries + 1;
        for attempt in 1..=max_attempts {
            result.attempts = attempt;
            sender.send(UnitMsg::Started {
                thread_id: None,
                attempt,
                prompt: self.script.clone(),
                iteration: self.iteration,
            });
            let tx = sender.clone();
            let on_output = move |text| tx.send(UnitMsg::Event(AgentEvent::Delta(text)));
            let ran = process::run(&self.invocation, deadline, &mut stop, on_output).await;
            match self.judge(ran, &mut result) {
                Next::Done => break,
                Next::Again(reason) if attempt < max_attempts => {
                    sender.send(UnitMsg::Retrying {
                        attempt: attempt + 1,
                        reason: reason.clone(),
                    });
                    result.error = Some(reason);
                    let delay = crate::engine::turn::backoff(self.retry_delay, attempt);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.wait_for(Option::is_some) => {}
                    }
                }
                Next::Again(reason) => {
                    result.error = Some(if max_attempts > 1 {
                        format!("{reason} (after {attempt} attempts)")
                    } else {
                        reason
                    });
                    break;
                }
            }
        }
        result.duration = started.elapsed();
        result
    }

    /// Fills `result` from one run; whether to try again.
    fn judge(&self, ran: Ran, result: &mut UnitResult) -> Next {
        let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
        result.stderr = Some(stderr.clone());
        result.output = self.parse(&ran.stdout).unwrap_or(Value::Null);
        result.status = Status::Failed;
        result.exit_code = None;
        match ran.ended {
            Ended::Stopped(reason) => {
                if reason == StopReason::Cancelled {
                    result.status = Status::Interrupted;
                }
                result.error = Some(describe_stop_as(&reason, "the script was stopped"));
                Next::Done
            }
            Ended::NotStarted(why) => {
                result.error = Some(why);
                Next::Done
            }
            Ended::Signal(signal) => Next::Again(format!(
                "the script was killed by signal {signal}{}",
                tail(&stderr)
            )),
            Ended::Code(code) => {
                result.exit_code = Some(code);
                if code != 0 {
                    return Next::Again(format!(
                        "the script exited with code {code}{}",
                        tail(&stderr)
                    ));
                }
                if ran.stdout_overflow {
                    result.error = Some(format!(
                        "the script printed more than {} MiB on stdout",
                        STDOUT_LIMIT >> 20
                    ));
                    return Next::Done;
                }
                match self.parse(&ran.stdout) {
                    Ok(output) => {
                        result.status = Status::Succeeded;
                        result.error = None;
                        result.output = output;
                        Next::Done
                    }
                    Err(why) => Next::Again(why),
                }
            }
        }
    }

    /// Stdout as the step's output: text, lines, or json (checked by the schema).
    fn parse(&self, stdout: &[u8]) -> Result<Value, String> {
        let text = String::from_utf8_lossy(stdout);
        match self.output {
            OutputFormat::Text => Ok(Value::String(
                text.trim_end_matches(['\n', '\r']).to_string(),
            )),
            OutputFormat::Lines => Ok(Value::Array(
                text.lines()
                    .map(|l| l.trim_end_matches('\r'))
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_string()))
                    .collect(),
            )),
            OutputFormat::Json => {
                let value: Value = serde_json::from_str(text.trim())
                    .map_err(|e| format!("the script's stdout is not json: {e}"))?;
                match &self.schema {
                    Some(schema) => schema.validate(&value).map(|()| value).map_err(|e| {
                        format!(
                            "the script's output {}",
                            e.to_string().trim_start_matches("the answer ")
                        )
                    }),
                    None => Ok(value),
                }
            }
        }
    }
}

/// `: ` and the last lines of `stderr`, or a note that it was empty.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return " (nothing on stderr)".into();
    }
    let last = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    let clipped: String = last
        .chars()
        .rev()
        .take(1000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!(": {clipped}")
}
