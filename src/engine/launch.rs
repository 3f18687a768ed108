//! Making units: the one place that knows the step kinds and what each needs to run.
//! Every step is a turn today ([`TurnUnit`], which needs the agent and the step's compiled
//! output schema); a new kind is a new unit type and one more arm here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::agent::Agent;
use super::output::OutputSchema;
use super::spec::{RunSpec, StepSpec};
use super::threads::ThreadBook;
use super::turn::{TurnInput, TurnUnit};
use super::unit::{Unit, UnitError, UnitKey};
use crate::template::Renderer;

/// What the scheduler gives to make a step's next unit.
pub(super) struct UnitInput<'a> {
    pub key: UnitKey,
    pub step: &'a StepSpec,
    /// The unit's template context (with its fan-out element and `loop`).
    pub context: &'a Value,
    pub threads: &'a ThreadBook,
    pub renderer: &'a Renderer,
    /// Whether the unit lets go of its own thread (fresh or forked) when it ends.
    pub release: bool,
}

/// Work the scheduler starts and forgets (it waits for it at the end of the run).
pub(super) type Chore = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Makes units; the scheduler holds one without knowing the kinds behind it.
pub(super) trait MakeUnit: Send {
    /// The unit for `input`, or why it cannot start (a template did not render).
    fn make(&self, input: UnitInput<'_>) -> Result<Box<dyn Unit>, UnitError>;

    /// Lets go of a named thread nothing uses any more.
    fn release(&self, thread_id: String) -> Chore;
}

/// The unit maker of a run on agent `A`.
pub(super) struct Launcher<A> {
    agent: Arc<A>,
    /// Each step's output schema, compiled once.
    schemas: Vec<Option<Arc<OutputSchema>>>,
    retry_delay: Duration,
}

impl<A: Agent> Launcher<A> {
    pub(super) fn new(agent: Arc<A>, spec: &RunSpec) -> Self {
        let schemas = spec
            .steps
            .iter()
            .map(|s| {
                s.output_schema
                    .as_ref()
                    .and_then(|v| OutputSchema::new(v).ok().map(Arc::new))
            })
            .collect();
        Self {
            agent,
            schemas,
            retry_delay: spec.retry_delay,
        }
    }
}

impl<A: Agent> MakeUnit for Launcher<A> {
    fn make(&self, input: UnitInput<'_>) -> Result<Box<dyn Unit>, UnitError> {
        let turn = TurnInput {
            key: input.key,
            step: input.step,
            context: input.context,
            threads: input.threads,
            renderer: input.renderer,
            schema: self.schemas[input.key.step].clone(),
            retry_delay: self.retry_delay,
            release: input.release,
        };
        let unit = TurnUnit::prepare(self.agent.clone(), turn)?;
        Ok(Box::new(unit))
    }

    fn release(&self, thread_id: String) -> Chore {
        let agent = self.agent.clone();
        Box::pin(async move {
            if let Err(err) = agent.release_thread(thread_id.clone()).await {
                tracing::debug!(%thread_id, %err, "the thread stays loaded");
            }
        })
    }
}
