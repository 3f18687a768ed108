//! [`TurnUnit`]: made from a step (its prompt rendered, its thread decided), then run as
//! a [`Unit`]: open or continue the thread, then the attempts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::attempts::attempts;
use crate::engine::agent::{Agent, AgentError, ThreadOptions, TurnLabel, TurnSpec};
use crate::engine::approvals::ApprovalRules;
use crate::engine::output::OutputSchema;
use crate::engine::spec::{StepSpec, ThreadMode};
use crate::engine::threads::{ThreadBook, ThreadSource};
use crate::engine::unit::{Unit, UnitError, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::template::Renderer;

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
    /// Let go of the thread when the unit ends (its own fresh or forked thread).
    pub release: bool,
}

/// What a turn unit is made from, besides the agent.
pub(in crate::engine) struct TurnInput<'a> {
    pub key: UnitKey,
    pub step: &'a StepSpec,
    /// The unit's template context (with its fan-out element).
    pub context: &'a Value,
    pub threads: &'a ThreadBook,
    pub renderer: &'a Renderer,
    pub schema: Option<Arc<OutputSchema>>,
    pub retry_delay: Duration,
    pub release: bool,
}

impl<A: Agent> TurnUnit<A> {
    /// Renders the prompt (and a `resume:` thread id) and decides the thread; the error
    /// says what could not be rendered.
    pub fn prepare(agent: Arc<A>, input: TurnInput<'_>) -> Result<Self, UnitError> {
        let step = input.step;
        let render = |what: &'static str, template: &str| {
            input
                .renderer
                .render(template, input.context)
                .map_err(|source| UnitError::Render { what, source })
        };
        let prompt = render("prompt", &step.prompt)?;
        let resume_id = match &step.thread {
            ThreadMode::Resume(template) => {
                Some(render("`resume` thread id", template)?.trim().to_string())
            }
            _ => None,
        };
        Ok(Self {
            agent,
            key: input.key,
            prompt,
            thread: input.threads.source(&step.thread, resume_id),
            options: thread_options(step),
            turn: turn_spec(step, input.key.index),
            schema: input.schema,
            timeout: step.timeout,
            retries: step.retries,
            max_tokens: step.max_tokens,
            retry_delay: input.retry_delay,
            release: input.release
                && matches!(step.thread, ThreadMode::Fresh | ThreadMode::Fork(_)),
        })
    }

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
        environment: step.environment,
    }
}

fn turn_spec(step: &StepSpec, index: Option<usize>) -> TurnSpec {
    TurnSpec {
        label: TurnLabel {
            step: step.id.clone(),
            index,
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
    }
}
