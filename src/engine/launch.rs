//! Making units: the one place that knows the step kinds and what each needs to run. A
//! turn ([`TurnBody`]: the agent, the step's compiled output schema) and a script
//! ([`ScriptBody`]) are bodies; with `loop:` a [`LoopUnit`] repeats the body, else the
//! body makes the one unit. A gate ([`GateUnit`]) needs the gatekeeper and any answer
//! given before the run. Whatever the kind, a unit is made from its step as placed in its
//! tree ([`Trees::place`]: an isolated unit's `cwd` is moved into its worktree) and
//! wrapped by [`Trees::wrap`], and a cached step's unit by [`Cached`] around that.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::agent::Agent;
use super::cached::{CacheRun, Cached, draft};
use super::gate::{GateUnit, Gatekeeper};
use super::looping::{IterationBody, IterationRecord, LoopUnit, UntilRun};
use super::output::OutputSchema;
use super::script::ScriptBody;
use super::spec::{GateAnswer, GateSpec, RunSpec, StepSpec, UnitKind, UntilSpec};
use super::threads::{ThreadBook, ThreadSource};
use super::tree::{MergeTree, TreeSetup, Trees};
use super::turn::TurnBody;
use super::unit::{Unit, UnitError, UnitKey};
use crate::template::Renderer;

/// What the scheduler gives to make a step's next unit.
pub(super) struct UnitInput<'a> {
    pub key: UnitKey,
    pub step: &'a StepSpec,
    /// The unit's template context (with its fan-out element and `loop`).
    pub context: &'a Value,
    pub threads: &'a ThreadBook,
    pub renderer: &'a Arc<Renderer>,
    /// A loop's iterations an earlier session finished.
    pub saved: Vec<IterationRecord>,
    /// The merge tree a repair step works in.
    pub within: Option<&'a MergeTree>,
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
    keeper: Arc<dyn Gatekeeper>,
    /// Answers to gates given before the run.
    answers: BTreeMap<String, GateAnswer>,
    trees: Trees,
    run_dir: Option<std::path::PathBuf>,
    /// The result cache, and the trees its patches are kept in.
    cache: Option<(Arc<CacheRun>, Option<Arc<TreeSetup>>)>,
}

impl<A: Agent> Launcher<A> {
    pub(super) fn new(agent: Arc<A>, keeper: Arc<dyn Gatekeeper>, spec: &RunSpec) -> Self {
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
            keeper,
            answers: spec.gates.clone(),
            trees: Trees::new(spec.tree.clone()),
            run_dir: spec.run_dir.clone(),
            cache: spec
                .cache
                .clone()
                .map(|c| (Arc::new(c), spec.tree.clone().map(Arc::new))),
        }
    }
}

impl<A: Agent> Launcher<A> {
    /// A gate's unit: its question rendered, with any answer given before the run.
    fn gate(&self, input: &UnitInput<'_>, gate: &GateSpec) -> Result<Box<dyn Unit>, UnitError> {
        let question = input
            .renderer
            .render_in(input.step.scope, &gate.question, input.context)
            .map_err(|source| UnitError::Render {
                what: "gate's question",
                source,
            })?;
        Ok(Box::new(GateUnit {
            key: input.key,
            step: input.step.id.clone(),
            question,
            schema: self.schemas[input.key.step].clone(),
            timeout: input.step.timeout,
            answer: self.answers.get(&input.step.id).cloned(),
            keeper: self.keeper.clone(),
        }))
    }

    /// The body that makes a turn's or a script's units, and where a turn's first unit
    /// runs.
    fn body(
        &self,
        input: &UnitInput<'_>,
    ) -> Result<(Box<dyn IterationBody>, Option<ThreadSource>), UnitError> {
        let step = input.step;
        let schema = self.schemas[input.key.step].clone();
        let renderer = input.renderer.clone();
        Ok(match &step.kind {
            UnitKind::Script(script) => (
                Box::new(ScriptBody {
                    key: input.key,
                    step: step.clone(),
                    script: script.clone(),
                    schema,
                    retry_delay: self.retry_delay,
                    renderer,
                    run_dir: self.run_dir.clone(),
                }),
                None,
            ),
            _ => {
                let body = TurnBody {
                    agent: self.agent.clone(),
                    key: input.key,
                    step: step.clone(),
                    schema,
                    retry_delay: self.retry_delay,
                    renderer,
                    run_dir: self.run_dir.clone(),
                    release: input.release && step.looping.is_none(),
                };
                let thread = body.thread(input.context, input.threads)?;
                (Box::new(body), Some(thread))
            }
        })
    }
}

impl<A: Agent> MakeUnit for Launcher<A> {
    fn make(&self, input: UnitInput<'_>) -> Result<Box<dyn Unit>, UnitError> {
        let key = input.key;
        let draft = self.cache.as_ref().and_then(|(c, _)| draft(c, &input));
        let placed = self.trees.place(key, input.step, input.within)?;
        let step = placed.as_ref().map_or(input.step, |p| p.step());
        let unit = self.unit(UnitInput { step, ..input })?;
        let unit = self.trees.wrap(key, placed, unit);
        Ok(match (draft, &self.cache) {
            (Some(draft), Some((run, setup))) => Box::new(Cached {
                inner: unit,
                key,
                run: run.clone(),
                setup: setup.clone(),
                draft,
            }),
            _ => unit,
        })
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

impl<A: Agent> Launcher<A> {
    /// The unit of `input`'s step (already placed in its tree), by its kind.
    fn unit(&self, input: UnitInput<'_>) -> Result<Box<dyn Unit>, UnitError> {
        let step = input.step;
        if let UnitKind::Gate(gate) = &step.kind {
            return self.gate(&input, gate);
        }
        let (body, thread) = self.body(&input)?;
        let Some(looping) = &step.looping else {
            return body.make(input.context, None, thread);
        };
        let until_run = match &looping.until {
            UntilSpec::Run(script) => Some(UntilRun {
                script: script.clone(),
                shell: step.shell.clone(),
                env: step.env.clone(),
                cwd: step.cwd.clone(),
                timeout: step.timeout,
                scope: step.scope,
                run_dir: self.run_dir.clone(),
            }),
            UntilSpec::Expression(_) => None,
        };
        Ok(Box::new(LoopUnit {
            key: input.key,
            spec: looping.clone(),
            body,
            context: input.context.clone(),
            renderer: input.renderer.clone(),
            first_thread: thread,
            saved: input.saved,
            until_run,
        }))
    }
}
