//! [`TurnUnit`]: made by a [`TurnBody`] from a step (its prompt rendered, its thread
//! decided), then run as a [`Unit`]: open or continue the thread, then the attempts.

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
}

impl<A: Agent> TurnBody<A> {
    /// Where the unit's first turn runs: the thread the step's mode gives in `threads`
    /// (a `resume:` id rendered in `context`).
    pub fn thread(&self, context: &Value, threads: &ThreadBook) -> Result<ThreadSource, UnitError> {
        let resume_id = match &self.step.thread {
            ThreadMode::Resume(template) => Some(
                self.renderer
                    .render(template, context)
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
            .render(&step.prompt, context)
            .map_err(|source| UnitError::Render {
                what: "prompt",
                source,
            })?;
        let mut turn = turn_spec(step, self.key.index);
        turn.label.iteration = iteration;
        Ok(Box::new(TurnUnit {
            agent: self.agent.clone(),
            key: self.key,
            prompt,
            thread: thread.unwrap_or(ThreadSource::Open(ThreadOpen::Start)),
            options: thread_options(step),
            turn,
            schema: self.schema.clone(),
            timeout: step.timeout,
            retries: step.retries,
            max_tokens: step.max_tokens,
            retry_delay: self.retry_delay,
            iteration,
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
        attempts(&self, link, deadline, thread_id, &mut result).await;
        result.duration = started.elapsed();
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
    }
}
