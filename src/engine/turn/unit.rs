//! [`TurnUnit`]: made by a [`TurnBody`] from a step (its prompt rendered, its thread
//! decided), then run as a [`Unit`]: open or continue the thread, then the attempts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::attempts::attempts;
use crate::engine::agent::{Agent, AgentError, ThreadOpen, ThreadOptions, TurnLabel, TurnSpec};
use crate::engine::approvals::ApprovalRules;
use crate::engine::looping::IterationBody;
use crate::engine::output::OutputSchema;
use crate::engine::spec::{StepSpec, ThreadMode};
use crate::engine::threads::{ThreadBook, ThreadSource};
use crate::engine::unit::{Unit, UnitError, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::template::Renderer;
use crate::vocab::Effort;

/// A step (or fan-out element) ready to run as turns: its prompt is rendered, its
/// thread decided.
pub(in crate::engine) struct TurnUnit<A> {
    pub agent: Arc<A>,
    pub key: UnitKey,
    pub prompt: String,
    pub thread: ThreadSource,
    pub options: ThreadOptions,
    /// The turn every attempt starts from (label, policies, approval rules).
    pub turn: TurnSpec,
    pub schema: Option<Arc<OutputSchema>>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub max_tokens: Option<u64>,
    pub retry_delay: Duration,
    /// The loop iteration it is, in a step with `loop`.
    pub iteration: Option<u32>,
    /// Let go of the thread when the unit ends (its own fresh or forked thread).
    pub release: bool,
}

/// Makes the turn units of one step (each element, each iteration): renders the prompt
/// and runs it on the thread it is given.
pub(in crate::engine) struct TurnBody<A> {
    pub agent: Arc<A>,
    pub key: UnitKey,
    pub step: StepSpec,
    pub schema: Option<Arc<OutputSchema>>,
    pub retry_delay: Duration,
    pub renderer: Arc<Renderer>,
    /// The run's own directory: a `workspace-write` turn may write there too.
    pub run_dir: Option<PathBuf>,
    /// Let go of each unit's thread when it ends (a fresh or forked thread, not a loop's:
    /// its next iteration may continue it).
    pub release: bool,
}

impl<A: Agent> TurnBody<A> {
    /// Where the unit's first turn runs: the thread the step's mode gives in `threads`
    /// (a `resume:` id rendered in `context`).
    pub fn thread(&self, context: &Value, threads: &ThreadBook) -> Result<ThreadSource, UnitError> {
        let resume_id = match &self.step.thread {
            ThreadMode::Resume(template) => Some(
                self.renderer
                    .render_in(self.step.scope, template, context)
                    .map_err(|source| UnitError::Render {
                        what: "`resume` thread id",
                        source,
                    })?
                    .trim()
                    .to_string(),
            ),
            _ => None,
        };
        Ok(threads.source(&self.step.thread, resume_id))
    }
}

impl<A: Agent> IterationBody for TurnBody<A> {
    fn make(
        &self,
        context: &Value,
        iteration: Option<u32>,
        thread: Option<ThreadSource>,
    ) -> Result<Box<dyn Unit>, UnitError> {
        let step = &self.step;
        let prompt = self
            .renderer
            .render_in(step.scope, &step.prompt, context)
            .map_err(|source| UnitError::Render {
                what: "prompt",
                source,
            })?;
        let (model, effort) = render_policies(step, &self.renderer, context)?;
        let mut turn = turn_spec(step, self.key.index);
        turn.label.iteration = iteration;
        turn.writable_roots = self.run_dir.iter().cloned().collect();
        Ok(Box::new(TurnUnit {
            agent: self.agent.clone(),
            key: self.key,
            prompt,
            thread: thread.unwrap_or(ThreadSource::Open(ThreadOpen::Start)),
            options: ThreadOptions {
                model: model.clone(),
                effort,
                ..thread_options(step)
            },
            turn: TurnSpec {
                model,
                effort,
                ..turn
            },
            schema: self.schema.clone(),
            timeout: step.timeout,
            retries: step.retries,
            max_tokens: step.max_tokens,
            retry_delay: self.retry_delay,
            iteration,
            release: self.release && matches!(step.thread, ThreadMode::Fresh | ThreadMode::Fork(_)),
        }))
    }
}

impl<A: Agent> TurnUnit<A> {
    /// Opens (or continues) the thread, then runs the attempts. Every failure is a result.
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let started = Instant::now();
        let mut result = UnitResult::new(self.key);
        let thread_id = match &self.thread {
            ThreadSource::Existing(id) => id.clone(),
            ThreadSource::Open(how) => {
                let opened = self
                    .agent
                    .open_thread(how.clone(), self.options.clone())
                    .await;
                match opened {
                    Ok(id) => id,
                    Err(err) => {
                        result.fatal = matches!(err, AgentError::Fatal(_));
                        result.error = Some(format!("could not open a thread: {err}"));
                        result.duration = started.elapsed();
                        return result;
                    }
                }
            }
        };
        result.thread_id = Some(thread_id.clone());
        let deadline = self
            .timeout
            .map(|t| tokio::time::Instant::from_std(started + t));
        attempts(&self, link, deadline, thread_id.clone(), &mut result).await;
        result.duration = started.elapsed();
        if self.release {
            if let Err(err) = self.agent.release_thread(thread_id.clone()).await {
                tracing::debug!(%thread_id, %err, "the thread stays loaded");
            }
        }
        result
    }
}

impl<A: Agent> Unit for TurnUnit<A> {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

/// The step's model and effort, its templates rendered in `context` (what `weft run`
/// checks before it starts, and each unit renders when it starts).
pub(in crate::engine) fn render_policies(
    step: &StepSpec,
    renderer: &Renderer,
    context: &Value,
) -> Result<(Option<String>, Option<Effort>), UnitError> {
    let render = |what: &'static str, template: &str| {
        renderer
            .render_in(step.scope, template, context)
            .map(|text| text.trim().to_string())
            .map_err(|source| UnitError::Render { what, source })
    };
    let model = match &step.model_template {
        Some(template) => {
            let name = render("`model`", template)?;
            if name.is_empty() {
                return Err(UnitError::Policy {
                    what: "model",
                    value: name,
                    expected: "the model names".into(),
                });
            }
            Some(name)
        }
        None => step.model.clone(),
    };
    let effort = match &step.effort_template {
        Some(template) => {
            let text = render("`effort`", template)?;
            let effort = Effort::parse(&text).ok_or_else(|| UnitError::Policy {
                what: "effort",
                value: text.clone(),
                expected: Effort::ALL.map(Effort::as_str).join(", "),
            })?;
            Some(effort)
        }
        None => step.effort,
    };
    Ok((model, effort))
}

/// The options a step's thread opens with (the plan merged them from `defaults`, the
/// named thread and the step).
fn thread_options(step: &StepSpec) -> ThreadOptions {
    ThreadOptions {
        model: step.model.clone(),
        effort: step.effort,
        developer_instructions: step.developer_instructions.clone(),
        cwd: Some(step.cwd.clone()),
        approval: step.approval,
        sandbox: step.sandbox,
        config: step.config.clone(),
        environment: step.environment,
    }
}

fn turn_spec(step: &StepSpec, index: Option<usize>) -> TurnSpec {
    TurnSpec {
        label: TurnLabel {
            step: step.id.clone(),
            index,
            iteration: None,
            attempt: 0,
        },
        thread_id: String::new(),
        input: String::new(),
        output_schema: None,
        model: step.model.clone(),
        effort: step.effort,
        approval: step.approval,
        sandbox: step.sandbox,
        cwd: step.cwd.clone(),
        approvals: Arc::new(ApprovalRules::new(
            &step.approve_commands,
            &step.approve_files,
        )),
        network: step.network,
        writable_roots: Vec::new(),
    }
}
