//! The scheduler: one loop that owns the run's state, starts every unit whose
//! dependencies are done (up to `jobs` at once), and turns unit results into step results.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::agent::{Agent, StopReason, Usage};
use super::event::{RunEvent, Status};
use super::outcome::{RunReport, StepRecord};
use super::output::OutputSchema;
use super::resume::Seed;
use super::spec::RunSpec;
use super::start::{self, Prepared};
use super::unit::{self, UnitMsg, UnitResult, describe_stop};
use crate::template::Renderer;

/// Where events go. The engine never prints.
pub type Sink<'a> = &'a mut (dyn FnMut(&RunEvent) + Send);

pub(super) enum StepState {
    Pending,
    Running(Running),
    Done(StepRecord),
}

pub(super) struct Running {
    pub items: Option<Vec<Value>>,
    pub next: usize,
    pub active: usize,
    pub results: Vec<Option<UnitResult>>,
    pub started: Instant,
}

impl Running {
    pub(super) fn total(&self) -> usize {
        self.items.as_ref().map_or(1, Vec::len)
    }
}

/// The state the loop owns.
pub(super) struct Scheduler<'s, A> {
    pub agent: Arc<A>,
    pub spec: RunSpec,
    pub renderer: Renderer,
    pub states: Vec<StepState>,
    pub schemas: Vec<Option<Arc<OutputSchema>>>,
    pub threads: HashMap<String, String>,
    /// Thread ids from an earlier session: opened with `thread/resume` on first use.
    pub reopen: HashSet<String>,
    pub unit_usage: HashMap<(usize, Option<usize>), Usage>,
    pub active: usize,
    pub halt: Option<Halt>,
    pub fatal: Option<String>,
    pub stop_tx: watch::Sender<Option<StopReason>>,
    pub sink: Sink<'s>,
    pub retry_delay: Duration,
}

/// Why no new step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Halt {
    Cancelled,
    FailFast(String),
    Fatal,
    Stopped(StopReason),
}

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
/// done already (reported with `reused`), and its named threads continue by id.
pub async fn execute_seeded<A: Agent>(
    agent: Arc<A>,
    spec: RunSpec,
    seed: Seed,
    mut cancel: watch::Receiver<bool>,
    sink: Sink<'_>,
) -> RunReport {
    let started = Instant::now();
    let (stop_tx, _) = watch::channel(None);
    let mut s = Scheduler::new(agent, spec, stop_tx, sink);
    (s.sink)(&RunEvent::RunStarted {
        run_id: s.spec.run_id.clone(),
        workflow: s.spec.workflow_name.clone(),
        steps: s.spec.steps.len(),
    });
    s.seed(seed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks: JoinSet<UnitResult> = JoinSet::new();
    let deadline = s
        .spec
        .timeout
        .map(|t| tokio::time::Instant::from_std(started + t));
    let far = tokio::time::Instant::now() + Duration::from_secs(86400 * 365);
    loop {
        s.advance(&mut tasks, &tx);
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            Some(joined) = tasks.join_next() => {
                match joined {
                    Ok(result) => s.unit_done(result),
                    Err(err) => s.fatal = Some(format!("a step task failed: {err}")),
                }
            }
            Some((step, index, msg)) = rx.recv() => s.message(step, index, msg),
            Ok(()) = cancel.changed(), if s.halt != Some(Halt::Cancelled) => {
                if *cancel.borrow() {
                    s.stop(Halt::Cancelled, StopReason::Cancelled);
                }
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() && s.halt.is_none() => {
                let t = s.spec.timeout.unwrap_or_default();
                s.stop(Halt::Stopped(StopReason::RunTimeout(t)), StopReason::RunTimeout(t));
            }
        }
    }
    while let Ok((step, index, msg)) = rx.try_recv() {
        s.message(step, index, msg);
    }
    s.finish(started)
}

impl<'s, A: Agent> Scheduler<'s, A> {
    fn new(
        agent: Arc<A>,
        spec: RunSpec,
        stop_tx: watch::Sender<Option<StopReason>>,
        sink: Sink<'s>,
    ) -> Self {
        let schemas = spec
            .steps
            .iter()
            .map(|s| {
                s.output_schema
                    .as_ref()
                    .and_then(|v| OutputSchema::new(v).ok().map(Arc::new))
            })
            .collect();
        let states = spec.steps.iter().map(|_| StepState::Pending).collect();
        let retry_delay = spec.retry_delay;
        Self {
            agent,
            spec,
            renderer: Renderer::new(),
            states,
            schemas,
            threads: HashMap::new(),
            reopen: HashSet::new(),
            unit_usage: HashMap::new(),
            active: 0,
            halt: None,
            fatal: None,
            stop_tx,
            sink,
            retry_delay,
        }
    }

    /// Starts what can start: decides ready steps, then launches units up to `jobs`.
    fn advance(
        &mut self,
        tasks: &mut JoinSet<UnitResult>,
        tx: &mpsc::UnboundedSender<(usize, Option<usize>, UnitMsg)>,
    ) {
        loop {
            let mut progressed = false;
            for i in 0..self.states.len() {
                if matches!(self.states[i], StepState::Pending) && self.upstream_done(i) {
                    self.begin(i);
                    progressed = true;
                }
            }
            for i in 0..self.states.len() {
                while self.active < self.spec.jobs.max(1) {
                    match start::next_unit(self, i) {
                        Prepared::Unit(u) => {
                            let agent = self.agent.clone();
                            let rx = self.stop_tx.subscribe();
                            tasks.spawn(unit::run(agent, *u, tx.clone(), rx));
                        }
                        Prepared::Finished(result) => {
                            self.unit_done(*result);
                            progressed = true;
                        }
                        Prepared::Nothing => break,
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

    /// After a halt, ends running steps that have nothing in flight: their elements
    /// that never started are reported as skipped.
    fn drain_halted(&mut self) -> bool {
        let reason = self.halt_reason();
        let mut progressed = false;
        for i in 0..self.states.len() {
            let StepState::Running(running) = &mut self.states[i] else {
                continue;
            };
            if running.active > 0 {
                continue;
            }
            let fan_out = running.items.is_some();
            for (slot, result) in running.results.iter_mut().enumerate() {
                if result.is_none() {
                    *result = Some(UnitResult::skipped(
                        i,
                        fan_out.then_some(slot),
                        reason.clone(),
                    ));
                }
            }
            self.complete(i);
            progressed = true;
        }
        progressed
    }

    fn halt_reason(&self) -> String {
        match &self.halt {
            None => String::new(),
            Some(Halt::Cancelled) => "the run was interrupted".to_string(),
            Some(Halt::FailFast(step)) => format!("`{step}` failed and --fail-fast is set"),
            Some(Halt::Fatal) => "the agent stopped working".to_string(),
            Some(Halt::Stopped(r)) => describe_stop(r),
        }
    }

    fn upstream_done(&self, i: usize) -> bool {
        self.spec.steps[i]
            .upstream
            .iter()
            .all(|&u| matches!(self.states[u], StepState::Done(_)))
    }

    /// Decides what happens to a step whose dependencies are all done.
    fn begin(&mut self, i: usize) {
        if self.halt.is_some() {
            return self.skip(i, self.halt_reason());
        }
        if let Some(reason) = self.blocked_by_upstream(i) {
            return self.skip(i, reason);
        }
        let context = self.context();
        let step = &self.spec.steps[i];
        if let Some(expr) = &step.if_expr {
            match self.renderer.truthy(expr, &context) {
                Ok(true) => {}
                Ok(false) => return self.skip(i, format!("`if: {expr}` is false")),
                Err(e) => return self.fail_now(i, format!("`if` could not be evaluated: {e}")),
            }
        }
        let items = match &step.for_each {
            None => None,
            Some(expr) => match self.renderer.eval(expr, &context) {
                Ok(Value::Array(items)) => Some(items),
                Ok(other) => {
                    let kind = json_kind(&other);
                    return self.fail_now(i, format!("`for_each` gave {kind}, not a list"));
                }
                Err(e) => {
                    return self.fail_now(i, format!("`for_each` could not be evaluated: {e}"));
                }
            },
        };
        let total = items.as_ref().map_or(1, Vec::len);
        self.states[i] = StepState::Running(Running {
            items,
            next: 0,
            active: 0,
            results: vec![None; total],
            started: Instant::now(),
        });
        if total == 0 {
            self.complete(i);
        }
    }

    fn blocked_by_upstream(&self, i: usize) -> Option<String> {
        let step = &self.spec.steps[i];
        for &u in &step.upstream {
            let StepState::Done(rec) = &self.states[u] else {
                continue;
            };
            let up = &self.spec.steps[u];
            match rec.status {
                Status::Failed if !up.continue_on_error => {
                    return Some(format!("upstream step `{}` failed", up.id));
                }
                Status::Interrupted => {
                    return Some(format!("upstream step `{}` was interrupted", up.id));
                }
                Status::Skipped if step.if_expr.is_none() => {
                    return Some(format!("upstream step `{}` was skipped", up.id));
                }
                _ => {}
            }
        }
        None
    }

    /// The template context: inputs, finished steps, workflow, run and allowed env.
    pub(super) fn context(&self) -> Value {
        let mut steps = Map::new();
        for state in &self.states {
            if let StepState::Done(rec) = state {
                steps.insert(
                    rec.id.clone(),
                    json!({
                        "output": rec.output,
                        "status": rec.status.as_str(),
                        "thread_id": rec.thread_id,
                        "usage": rec.usage,
                    }),
                );
            }
        }
        json!({
            "inputs": self.spec.inputs,
            "steps": steps,
            "workflow": { "name": self.spec.workflow_name },
            "run": { "id": self.spec.run_id },
            "env": self.spec.env,
        })
    }

    fn skip(&mut self, i: usize, reason: String) {
        self.record(i, Status::Skipped, Value::Null, Some(reason), None, 0);
    }

    fn fail_now(&mut self, i: usize, error: String) {
        self.record(i, Status::Failed, Value::Null, Some(error), None, 0);
        self.after_failure(i);
    }

    /// `unit_usage` is the unit's usage so far, over all its attempts.
    pub(super) fn track_usage(&mut self, step: usize, index: Option<usize>, unit_usage: Usage) {
        self.unit_usage.insert((step, index), unit_usage);
        let Some(budget) = self.spec.max_tokens else {
            return;
        };
        let total: u64 = self.unit_usage.values().map(|u| u.total_tokens).sum();
        if total > budget && self.halt.is_none() {
            let reason = StopReason::RunBudget(budget);
            self.stop(Halt::Stopped(reason.clone()), reason);
        }
    }

    /// Stops starting steps and asks every running turn to stop.
    fn stop(&mut self, halt: Halt, reason: StopReason) {
        if self.halt.is_none() || halt == Halt::Cancelled {
            self.halt = Some(halt);
        }
        let _ = self.stop_tx.send(Some(reason));
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
