//! The scheduler: the one owner of a run's state. One loop decides every step whose
//! dependencies are done, starts its units (up to `jobs` at once) through the executor,
//! and turns their messages and results into events and step records. It does not know
//! which kind of unit it runs; the rest of the engine is functions over what they read
//! ([`super::gates`], [`super::outcome`], [`super::context`], [`super::emit`]) and units
//! that send the loop messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use super::agent::{Agent, AgentEvent, StopReason, Usage};
use super::context::{with_element, with_output};
use super::emit::{element_finished, element_reused, step_finished, unit_event};
use super::event::{RunEvent, Status};
use super::executor::{Executor, Report};
use super::gate::{Gatekeeper, NoGatekeeper};
use super::gates::{Admission, admit, fail_if};
use super::halt::Halt;
use super::launch::{Launcher, MakeUnit, UnitInput};
use super::looping::IterationRecord;
use super::outcome::{RunReport, StepRecord};
use super::pools::PoolBook;
use super::release::Releases;
use super::resume::{Seed, SeedElement};
use super::spec::{RunSpec, StepSpec};
use super::step_state::{Running, StepState};
use super::threads::ThreadBook;
use super::unit::{UnitKey, UnitMsg, UnitResult};
use crate::template::Renderer;

mod call_steps;
mod closing;
mod ending;
mod kept;

/// Where events go. The engine never prints.
pub type Sink<'a> = &'a mut (dyn FnMut(&RunEvent) + Send);

/// Runs the workflow described by `spec` on `agent`. `cancel` turning true interrupts
/// every running turn and ends the run as interrupted.
pub async fn execute<A: Agent>(
    agent: Arc<A>,
    spec: RunSpec,
    cancel: watch::Receiver<bool>,
    sink: Sink<'_>,
) -> RunReport {
    execute_seeded(agent, spec, Seed::default(), cancel, sink).await
}

/// Like [`execute`], continuing an earlier session of the run: the steps in `seed` are
/// done already (reported with `reused`), and its named threads continue by id. Gates
/// without an answer in the spec wait.
pub async fn execute_seeded<A: Agent>(
    agent: Arc<A>,
    spec: RunSpec,
    seed: Seed,
    cancel: watch::Receiver<bool>,
    sink: Sink<'_>,
) -> RunReport {
    execute_gated(agent, Arc::new(NoGatekeeper), spec, seed, cancel, sink).await
}

/// Like [`execute_seeded`], with `keeper` asked the gates that have no answer in the spec.
pub async fn execute_gated<A: Agent>(
    agent: Arc<A>,
    keeper: Arc<dyn Gatekeeper>,
    spec: RunSpec,
    seed: Seed,
    cancel: watch::Receiver<bool>,
    sink: Sink<'_>,
) -> RunReport {
    let units = Launcher::new(agent, keeper, &spec);
    execute_units(Box::new(units), spec, seed, cancel, sink).await
}

/// Runs `spec` with the units `units` makes, whatever their kind.
pub(super) async fn execute_units(
    units: Box<dyn MakeUnit>,
    spec: RunSpec,
    seed: Seed,
    cancel: watch::Receiver<bool>,
    sink: Sink<'_>,
) -> RunReport {
    Scheduler::new(spec, units, sink).run(seed, cancel).await
}

/// A run's state, and the loop that owns it.
struct Scheduler<'s> {
    spec: RunSpec,
    units: Box<dyn MakeUnit>,
    renderer: Arc<Renderer>,
    steps: Vec<StepState>,
    /// Loops' iterations an earlier session finished, by unit.
    saved: HashMap<UnitKey, Vec<IterationRecord>>,
    /// Fan-out elements an earlier session finished, by the index of their step (which
    /// runs again): kept when it fans out over the same items.
    kept: HashMap<usize, Vec<SeedElement>>,
    threads: ThreadBook,
    /// Which threads are let go of, and when.
    releases: Releases,
    /// Each unit's usage so far, over all its attempts (the run's budget counts them).
    usage: HashMap<UnitKey, Usage>,
    halt: Option<Halt>,
    /// Why the agent cannot go on, once it cannot.
    fatal: Option<String>,
    executor: Executor,
    sink: Sink<'s>,
    /// The inputs of each scope: the run's, then each called workflow's once its calling
    /// step has opened.
    scope_inputs: Vec<Option<Value>>,
    /// The places taken in the named pools.
    pools: PoolBook,
}

/// What [`Scheduler::launch`] did for a step.
enum Launched {
    Started,
    /// The unit failed before it could start (a template did not render).
    Failed,
    Nothing,
}

impl<'s> Scheduler<'s> {
    fn new(spec: RunSpec, units: Box<dyn MakeUnit>, sink: Sink<'s>) -> Self {
        let steps = spec.steps.iter().map(|_| StepState::Pending).collect();
        let sources = spec.scopes.iter().map(|s| s.templates.clone()).collect();
        let mut scope_inputs = vec![None; spec.scopes.len().max(1)];
        scope_inputs[0] = Some(spec.inputs.clone());
        let releases = Releases::new(&spec);
        Self {
            scope_inputs,
            pools: PoolBook::default(),
            renderer: Arc::new(Renderer::with_sources(sources)),
            spec,
            units,
            steps,
            saved: HashMap::new(),
            kept: HashMap::new(),
            threads: ThreadBook::default(),
            releases,
            usage: HashMap::new(),
            halt: None,
            fatal: None,
            executor: Executor::new(),
            sink,
        }
    }

    async fn run(mut self, seed: Seed, mut cancel: watch::Receiver<bool>) -> RunReport {
        let started = Instant::now();
        (self.sink)(&RunEvent::RunStarted {
            run_id: self.spec.run_id.clone(),
            workflow: self.spec.workflow_name.clone(),
            steps: self.spec.steps.len(),
        });
        self.seed(seed);
        let timeout = self.spec.timeout;
        let deadline = timeout.map(|t| tokio::time::Instant::from_std(started + t));
        let far = tokio::time::Instant::now() + Duration::from_secs(86400 * 365);
        loop {
            self.advance();
            if self.executor.running() == 0 {
                break;
            }
            tokio::select! {
                Some(report) = self.executor.next() => self.on_report(report),
                Ok(()) = cancel.changed(), if self.halt != Some(Halt::Cancelled) => {
                    if *cancel.borrow() {
                        self.stop(Halt::Cancelled, StopReason::Cancelled);
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() && self.halt.is_none() => {
                    let reason = StopReason::RunTimeout(timeout.unwrap_or_default());
                    self.stop(Halt::Stopped(reason.clone()), reason);
                }
            }
        }
        while let Some(report) = self.executor.next().await {
            self.on_report(report);
        }
        self.executor.settle().await;
        self.finish(started)
    }

    /// Marks the seed's steps done (reporting each as a reused `step.finished`) and
    /// remembers its threads as to be reopened.
    fn seed(&mut self, seed: Seed) {
        self.threads.seed(seed.threads);
        for (id, index, iterations) in seed.iterations {
            if let Some(step) = self.spec.index_of(&id) {
                self.saved.insert(UnitKey { step, index }, iterations);
            }
        }
        let done: Vec<&str> = seed.done.iter().map(|d| d.id.as_str()).collect();
        for element in seed.elements {
            let Some(i) = self.spec.index_of(&element.step) else {
                continue;
            };
            if done.contains(&element.step.as_str()) {
                (self.sink)(&element_reused(&element));
            } else {
                self.kept.entry(i).or_default().push(element);
            }
        }
        for mut rec in seed.done {
            let Some(i) = self.spec.index_of(&rec.id) else {
                continue;
            };
            rec.reused = true;
            let rec = rec.of_kind(&self.spec.steps[i]);
            (self.sink)(&step_finished(&rec));
            self.steps[i] = StepState::Done(Box::new(rec));
        }
    }

    /// Starts what can start: decides ready steps, then starts units up to `jobs`.
    fn advance(&mut self) {
        loop {
            let mut progressed = false;
            for i in 0..self.steps.len() {
                if !matches!(self.steps[i], StepState::Pending) {
                    continue;
                }
                if let Some(reason) = self.caller_ended(i) {
                    self.end_early(i, Status::Skipped, reason);
                    progressed = true;
                } else if self.upstream_done(i) && self.caller_open(i) {
                    self.begin(i);
                    progressed = true;
                }
            }
            for i in 0..self.steps.len() {
                while self.executor.running() < self.spec.jobs.max(1) {
                    match self.launch(i) {
                        Launched::Started => {}
                        Launched::Failed => progressed = true,
                        Launched::Nothing => break,
                    }
                }
            }
            if self.halt.is_some() {
                progressed |= self.drain_halted();
            }
            if !progressed {
                break;
            }
        }
    }

    fn upstream_done(&self, i: usize) -> bool {
        self.spec.steps[i]
            .upstream
            .iter()
            .all(|&u| matches!(self.steps[u], StepState::Done(_)))
    }

    /// Decides what happens to a step whose dependencies are all done.
    fn begin(&mut self, i: usize) {
        let admission = match &self.halt {
            Some(halt) => Admission::Skip(halt.reason()),
            None => {
                let step = &self.spec.steps[i];
                let upstream: Vec<(&StepSpec, &StepRecord)> = step
                    .upstream
                    .iter()
                    .filter_map(|&u| match &self.steps[u] {
                        StepState::Done(rec) => Some((&self.spec.steps[u], rec.as_ref())),
                        _ => None,
                    })
                    .collect();
                admit(step, &upstream, &self.renderer, &self.context())
            }
        };
        match admission {
            Admission::Skip(reason) => self.end_early(i, Status::Skipped, reason),
            Admission::Run(_) if self.spec.steps[i].repairs.is_some() => {
                let reason = closing::no_conflict(&self.spec, i);
                self.end_early(i, Status::Skipped, reason);
            }
            Admission::Fail(error) => self.end_early(i, Status::Failed, error),
            Admission::Wait(reason) => self.end_early(i, Status::Waiting, reason),
            Admission::Run(_) if self.spec.steps[i].call.is_some() => self.open_call(i),
            Admission::Run(items) => {
                let mut running = Running::admitted(items, self.spec.shard, i);
                self.keep_elements(i, &mut running);
                let empty = running.complete();
                self.steps[i] = StepState::Running(running);
                if empty {
                    self.complete(i);
                }
            }
        }
    }

    /// Starts step `i`'s next unit, if the step runs, has units left, and its thread,
    /// `max_parallel` and pool allow another one now.
    fn launch(&mut self, i: usize) -> Launched {
        if self.halt.is_some() || !self.pools.free(&self.spec, i) {
            return Launched::Nothing;
        }
        let limit = self.spec.steps[i].parallel_limit();
        let StepState::Running(running) = &mut self.steps[i] else {
            return Launched::Nothing;
        };
        let length = running.length;
        let Some((key, item)) = running.take_slot(i, limit) else {
            return Launched::Nothing;
        };
        self.pools.take(&self.spec, i);
        let step = &self.spec.steps[i];
        let mut context = self.context_for(step.scope);
        if let (Some(item), Some(index)) = (item, key.index) {
            context = with_element(context, &step.as_name, item, index, length);
        }
        let input = UnitInput {
            key,
            step,
            context: &context,
            threads: &self.threads,
            renderer: &self.renderer,
            saved: self.saved.remove(&key).unwrap_or_default(),
            within: None,
            release: self.releases.unit(i),
        };
        match self.units.make(input) {
            Ok(unit) => {
                self.mark_tree(i);
                self.executor.start(key, unit);
                Launched::Started
            }
            Err(error) => {
                self.on_result(UnitResult::failed(key, error.to_string()));
                Launched::Failed
            }
        }
    }

    /// After a halt, ends running steps that have nothing in flight: their units that
    /// never started are reported as skipped.
    fn drain_halted(&mut self) -> bool {
        let reason = self.halt.as_ref().map(Halt::reason).unwrap_or_default();
        let mut progressed = false;
        for i in 0..self.steps.len() {
            let StepState::Running(running) = &mut self.steps[i] else {
                continue;
            };
            if running.active > 0 || running.closing.is_some() {
                continue;
            }
            running.skip_rest(i, &reason);
            self.complete(i);
            progressed = true;
        }
        progressed
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::Message(key, msg) => self.on_message(key, msg),
            Report::Finished(result) => self.on_result(result),
            Report::Crashed(err) => self.fatal = Some(format!("a step task failed: {err}")),
        }
    }

    /// Reports a running unit's message as a run event (and tracks its usage).
    fn on_message(&mut self, key: UnitKey, msg: UnitMsg) {
        if let UnitMsg::Event(AgentEvent::Usage(usage)) = &msg {
            self.track_usage(key, *usage);
        }
        let step = &self.spec.steps[key.step];
        let (id, kind) = (step.id.clone(), step.kind.name());
        let item = match (&msg, &self.steps[key.step]) {
            (UnitMsg::Started { .. }, StepState::Running(r)) => r.item(key.index),
            _ => None,
        };
        (self.sink)(&unit_event((id, key.index, kind), msg, item));
    }

    /// A unit of step `step` starts or ends: when it can change files, the result cache
    /// takes the working tree's fingerprint again.
    fn mark_tree(&self, step: usize) {
        if let Some(cache) = &self.spec.cache {
            if super::cached::changes_tree(&self.spec.steps[step]) {
                cache.print.changed();
            }
        }
    }

    /// Takes a unit's result into its step; completes the step after its last unit.
    fn on_result(&mut self, result: UnitResult) {
        let i = result.key.step;
        self.mark_tree(i);
        if self.is_closing(i) {
            return self.on_closed(result);
        }
        if result.fatal && self.fatal.is_none() {
            self.fatal = result.error.clone();
            self.halt.get_or_insert(Halt::Fatal);
        }
        self.usage.insert(result.key, result.usage);
        self.pools.give_back(&self.spec, i);
        if let Some(id) = &result.thread_id {
            self.threads.record(&self.spec.steps[i].thread, id);
        }
        let StepState::Running(running) = &mut self.steps[i] else {
            return;
        };
        if running.fan_out() {
            let step = &self.spec.steps[i];
            let (id, kind) = (step.id.clone(), step.kind.name());
            (self.sink)(&element_finished(id, kind, &result));
        }
        if running.finish(result) {
            self.complete(i);
        }
    }

    /// Turns a step's unit results into its record.
    fn complete(&mut self, i: usize) {
        let StepState::Running(running) = &self.steps[i] else {
            return;
        };
        let rec = running.record(&self.spec.steps[i]);
        self.finish_step(i, rec);
    }

    /// Records a step that ran (a succeeded step must pass `fail_if`).
    fn finish_step(&mut self, i: usize, mut rec: StepRecord) {
        let step = &self.spec.steps[i];
        if let (Status::Succeeded, Some(expr)) = (rec.status, &step.fail_if) {
            let context = with_output(self.context_for(step.scope), &rec.output);
            if let Some(error) = fail_if(expr, &self.renderer, &context) {
                rec.status = Status::Failed;
                rec.error = Some(error);
            }
        }
        let Some(rec) = self.close(i, rec) else {
            return;
        };
        let failed = rec.status == Status::Failed;
        self.record(i, rec);
        if failed {
            self.after_failure(i);
        }
    }

    /// Ends a step that never started a unit.
    fn end_early(&mut self, i: usize, status: Status, reason: String) {
        let step = &self.spec.steps[i];
        let rec = StepRecord::early(&step.id, status, reason).of_kind(step);
        self.record(i, rec);
        if status == Status::Failed {
            self.after_failure(i);
        }
    }

    fn record(&mut self, i: usize, rec: StepRecord) {
        (self.sink)(&step_finished(&rec));
        self.steps[i] = StepState::Done(Box::new(rec));
        self.repaired(i);
        self.release_named(i);
        if let Some(p) = self.spec.steps[i].parent {
            self.close_call(p);
        }
    }

    /// Lets go of the named threads that nothing uses now that step `i` is done.
    fn release_named(&mut self, i: usize) {
        let steps = &self.steps;
        let names = self
            .releases
            .named_after(i, |u| matches!(steps[u], StepState::Done(_)));
        for name in names {
            if let Some(id) = self.threads.release(name) {
                self.executor.background(self.units.release(id));
            }
        }
    }

    /// With `--fail-fast`, a failure nothing excuses halts the run: not the step's own
    /// `continue_on_error`, nor that of a step calling the workflow it is in.
    fn after_failure(&mut self, i: usize) {
        let mut excused = false;
        let mut at = Some(i);
        while let Some(s) = at {
            excused |= self.spec.steps[s].continue_on_error;
            at = self.spec.steps[s].parent;
        }
        if self.spec.fail_fast && !excused && self.halt.is_none() {
            self.halt = Some(Halt::FailFast(self.spec.steps[i].id.clone()));
        }
    }

    /// `usage` is the unit's usage so far, over all its attempts.
    fn track_usage(&mut self, key: UnitKey, usage: Usage) {
        self.usage.insert(key, usage);
        let Some(budget) = self.spec.max_tokens else {
            return;
        };
        let total: u64 = self.usage.values().map(|u| u.total_tokens).sum();
        if total > budget && self.halt.is_none() {
            let reason = StopReason::RunBudget(budget);
            self.stop(Halt::Stopped(reason.clone()), reason);
        }
    }

    /// Starts nothing new and asks every running unit to stop.
    fn stop(&mut self, halt: Halt, reason: StopReason) {
        if self.halt.is_none() || halt == Halt::Cancelled {
            self.halt = Some(halt);
        }
        self.executor.cancel(reason);
    }
}
