//! Making units: the one place that knows the step kinds and what each needs to run.
//! Every step is a turn today ([`TurnUnit`], which needs the agent and the step's compiled
//! output schema); a new kind is a new unit type and one more arm here.

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
}

/// Makes units; the scheduler holds one without knowing the kinds behind it.
pub(super) trait MakeUnit: Send {
    /// The unit for `input`, or why it cannot start (a template did not render).
    fn make(&self, input: UnitInput<'_>) -> Result<Box<dyn Unit>, UnitError>;
}

/// The unit maker of a run on agent `A`.
pub(super) struct Launcher<A> {
    agent: Arc<A>,
    /// Each step's output schema, compiled once.
    schemas: Vec<Option<Arc<OutputSchema>>>,
    retry_delay: Duration,
    run_dir: Option<std::path::PathBuf>,
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
            run_dir: spec.run_dir.clone(),
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
            run_dir: self.run_dir.as_deref(),
        };
        let unit = TurnUnit::prepare(self.agent.clone(), turn)?;
        Ok(Box::new(unit))
    }
}
