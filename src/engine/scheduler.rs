//! The scheduler: one loop that owns the run's state, starts every unit whose
//! dependencies are done (up to `jobs` at once), and turns unit results into step results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::agent::{Agent, AgentEvent, StopReason, Usage};
use super::context::Renderer;
use super::event::{RunEvent, Status};
use super::output::OutputSchema;
use super::spec::{RunSpec, ThreadMode};
use super::start::{self, Prepared};
use super::unit::{self, UnitMsg, UnitResult, describe_stop};

/// The result of one step, as reported and as seen by later templates.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub id: String,
    pub status: Status,
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub thread_id: Option<String>,
    pub usage: Usage,
    pub attempts: u32,
    pub duration_ms: u64,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub status: Status,
    /// Set when the agent died or broke the protocol.
    pub fatal: Option<String>,
    pub steps: Vec<StepRecord>,
    pub outputs: Map<String, Value>,
    pub usage: Usage,
    pub duration: Duration,
}

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

    fn record(
        &mut self,
        i: usize,
        status: Status,
        output: Value,
        error: Option<String>,
        thread_id: Option<String>,
        attempts: u32,
    ) {
        let (usage, duration) = match &self.states[i] {
            StepState::Running(r) => (self.step_usage(r), r.started.elapsed()),
            _ => (Usage::default(), Duration::ZERO),
        };
        let rec = StepRecord {
            id: self.spec.steps[i].id.clone(),
            status,
            output,
            error,
            thread_id,
            usage,
            attempts,
            duration_ms: duration.as_millis() as u64,
        };
        (self.sink)(&RunEvent::StepFinished {
            step: rec.id.clone(),
            index: None,
            status,
            error: rec.error.clone(),
            output: Some(rec.output.clone()),
            duration_ms: rec.duration_ms,
            usage,
        });
        self.states[i] = StepState::Done(rec);
    }

    fn step_usage(&self, running: &Running) -> Usage {
        let mut total = Usage::default();
        for r in running.results.iter().flatten() {
            total.add(&r.usage);
        }
        total
    }

    fn after_failure(&mut self, i: usize) {
        let step = &self.spec.steps[i];
        if self.spec.fail_fast && !step.continue_on_error && self.halt.is_none() {
            self.halt = Some(Halt::FailFast(step.id.clone()));
        }
    }

    fn message(&mut self, step: usize, index: Option<usize>, msg: UnitMsg) {
        let id = self.spec.steps[step].id.clone();
        let event = match msg {
            UnitMsg::Started { thread_id, attempt } => RunEvent::StepStarted {
                step: id,
                index,
                thread_id,
                attempt,
            },
            UnitMsg::Retrying { attempt, reason } => RunEvent::StepRetrying {
                step: id,
                index,
                attempt,
                reason,
            },
            UnitMsg::Event(AgentEvent::Delta(delta)) => RunEvent::TurnDelta {
                step: id,
                index,
                delta,
            },
            UnitMsg::Event(AgentEvent::Activity(activity)) => RunEvent::TurnActivity {
                step: id,
                index,
                activity,
            },
            UnitMsg::Event(AgentEvent::Approval {
                kind,
                subject,
                approved,
                reason,
            }) => RunEvent::ApprovalDecided {
                step: id,
                index,
                kind,
                subject,
                approved,
                reason,
            },
            UnitMsg::Event(AgentEvent::Usage(usage)) => {
                self.track_usage(step, index, usage);
                RunEvent::TurnUsage {
                    step: id,
                    index,
                    usage,
                }
            }
        };
        (self.sink)(&event);
    }

    /// `unit_usage` is the unit's usage so far, over all its attempts.
    fn track_usage(&mut self, step: usize, index: Option<usize>, unit_usage: Usage) {
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

    fn unit_done(&mut self, result: UnitResult) {
        self.active = self.active.saturating_sub(1);
        let i = result.step;
        if result.fatal && self.fatal.is_none() {
            self.fatal = result.error.clone();
            if self.halt.is_none() {
                self.halt = Some(Halt::Fatal);
            }
        }
        self.unit_usage.insert((i, result.index), result.usage);
        self.remember_thread(i, &result);
        let fan_out = matches!(&self.states[i], StepState::Running(r) if r.items.is_some());
        if fan_out {
            (self.sink)(&RunEvent::StepFinished {
                step: self.spec.steps[i].id.clone(),
                index: result.index,
                status: result.status,
                error: result.error.clone(),
                output: Some(result.output.clone()),
                duration_ms: result.duration.as_millis() as u64,
                usage: result.usage,
            });
        }
        let StepState::Running(running) = &mut self.states[i] else {
            return;
        };
        running.active = running.active.saturating_sub(1);
        let slot = result.index.unwrap_or(0);
        running.results[slot] = Some(result);
        if running.results.iter().all(Option::is_some) {
            self.complete(i);
        }
    }

    fn remember_thread(&mut self, i: usize, result: &UnitResult) {
        let Some(id) = &result.thread_id else { return };
        match &self.spec.steps[i].thread {
            ThreadMode::Named(name) => {
                self.threads.insert(name.clone(), id.clone());
            }
            ThreadMode::Resume(_) => {
                self.threads.insert(format!("resume:{id}"), id.clone());
            }
            ThreadMode::Fresh | ThreadMode::Fork(_) => {}
        }
    }

    /// Turns a step's unit results into its record.
    fn complete(&mut self, i: usize) {
        let StepState::Running(running) = &self.states[i] else {
            return;
        };
        let results: Vec<&UnitResult> = running.results.iter().flatten().collect();
        let status = if results.iter().any(|r| r.status == Status::Interrupted) {
            Status::Interrupted
        } else if results.iter().all(|r| r.status == Status::Skipped) {
            Status::Skipped
        } else if results.iter().all(|r| r.status == Status::Succeeded) {
            Status::Succeeded
        } else {
            Status::Failed
        };
        let fan_out = running.items.is_some();
        let output = if fan_out {
            Value::Array(results.iter().map(|r| r.output.clone()).collect())
        } else {
            results.first().map_or(Value::Null, |r| r.output.clone())
        };
        let error = results.iter().find_map(|r| {
            r.error
                .as_ref()
                .filter(|_| r.status != Status::Succeeded)
                .map(|e| match r.index {
                    Some(ix) if fan_out => format!("element {ix}: {e}"),
                    _ => e.clone(),
                })
        });
        let mut thread_ids: Vec<&String> = results
            .iter()
            .filter_map(|r| r.thread_id.as_ref())
            .collect();
        thread_ids.dedup();
        let thread_id = (thread_ids.len() == 1).then(|| thread_ids[0].clone());
        let attempts = results.iter().map(|r| r.attempts).max().unwrap_or(0);
        let (status, error) = match (status, &self.spec.steps[i].fail_if) {
            (Status::Succeeded, Some(expr)) => self.gate(expr, &output, status, error),
            _ => (status, error),
        };
        self.record(i, status, output, error, thread_id, attempts);
        if status == Status::Failed {
            self.after_failure(i);
        }
    }

    /// A succeeded step's `fail_if`, evaluated with its own `output`.
    fn gate(
        &self,
        expr: &str,
        output: &Value,
        status: Status,
        error: Option<String>,
    ) -> (Status, Option<String>) {
        let mut context = self.context();
        if let Value::Object(map) = &mut context {
            map.insert("output".into(), output.clone());
        }
        match self.renderer.truthy(expr, &context) {
            Ok(false) => (status, error),
            Ok(true) => (Status::Failed, Some(format!("`fail_if: {expr}` is true"))),
            Err(e) => (
                Status::Failed,
                Some(format!("`fail_if` could not be evaluated: {e}")),
            ),
        }
    }

    fn finish(mut self, started: Instant) -> RunReport {
        let steps: Vec<StepRecord> = self
            .states
            .iter()
            .filter_map(|s| match s {
                StepState::Done(rec) => Some(rec.clone()),
                _ => None,
            })
            .collect();
        let mut usage = Usage::default();
        for rec in &steps {
            usage.add(&rec.usage);
        }
        let failed = steps
            .iter()
            .zip(&self.spec.steps)
            .any(|(rec, spec)| rec.status == Status::Failed && !spec.continue_on_error);
        let status = if self.halt == Some(Halt::Cancelled) {
            Status::Interrupted
        } else if failed || self.fatal.is_some() || matches!(self.halt, Some(Halt::Stopped(_))) {
            Status::Failed
        } else {
            Status::Succeeded
        };
        let outputs = if status == Status::Succeeded {
            self.render_outputs()
        } else {
            Map::new()
        };
        let duration = started.elapsed();
        (self.sink)(&RunEvent::RunFinished {
            status,
            duration_ms: duration.as_millis() as u64,
            usage,
        });
        RunReport {
            status,
            fatal: self.fatal.take(),
            steps,
            outputs,
            usage,
            duration,
        }
    }

    fn render_outputs(&self) -> Map<String, Value> {
        let context = self.context();
        self.spec
            .outputs
            .iter()
            .map(|(name, template)| {
                let value = self
                    .renderer
                    .render_value(template, &context)
                    .unwrap_or_else(|e| json!({ "error": e }));
                (name.clone(), value)
            })
            .collect()
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
