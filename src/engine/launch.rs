//! Making units: the one place that knows the step kinds and what each needs to run.
//! Every step is a turn today ([`TurnUnit`], which needs the agent and the step's compiled
//! output schema); a new kind is a new unit type and one more arm here. Whatever the
//! kind, a unit is made from its step as placed in its tree ([`Trees::place`]: an
//! isolated unit's `cwd` is moved into its worktree) and wrapped by [`Trees::wrap`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::agent::Agent;
use super::output::OutputSchema;
use super::spec::{RunSpec, StepSpec};
use super::threads::ThreadBook;
use super::tree::{MergeTree, Trees};
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
    /// The merge tree a repair step works in.
    pub within: Option<&'a MergeTree>,
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
    trees: Trees,
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
            trees: Trees::new(spec.tree.clone()),
        }
    }
}

impl<A: Agent> MakeUnit for Launcher<A> {
    fn make(&self, input: UnitInput<'_>) -> Result<Box<dyn Unit>, UnitError> {
        let placed = self.trees.place(input.key, input.step, input.within)?;
        let step = placed.as_ref().map_or(input.step, |p| p.step());
        let turn = TurnInput {
            key: input.key,
            step,
            context: input.context,
            threads: input.threads,
            renderer: input.renderer,
            schema: self.schemas[input.key.step].clone(),
            retry_delay: self.retry_delay,
        };
        let unit = TurnUnit::prepare(self.agent.clone(), turn)?;
        Ok(self.trees.wrap(input.key, placed, Box::new(unit)))
    }
}
