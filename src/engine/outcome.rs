//! How a run's results are put together: unit results into step records, step records
//! into the run's report and outputs.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::agent::{Agent, Usage};
use super::emit::finished_event;
use super::event::{RunEvent, Status};
use super::scheduler::{Halt, Running, Scheduler, StepState};
use super::spec::ThreadMode;
use super::unit::UnitResult;

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
    /// Kept from an earlier session of the run by `weft resume`, not run again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
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

impl<A: Agent> Scheduler<'_, A> {
    pub(super) fn record(
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
            reused: false,
        };
        (self.sink)(&finished_event(&rec));
        self.states[i] = StepState::Done(rec);
    }

    pub(super) fn step_usage(&self, running: &Running) -> Usage {
        let mut total = Usage::default();
        for r in running.results.iter().flatten() {
            total.add(&r.usage);
        }
        total
    }

    pub(super) fn after_failure(&mut self, i: usize) {
        let step = &self.spec.steps[i];
        if self.spec.fail_fast && !step.continue_on_error && self.halt.is_none() {
            self.halt = Some(Halt::FailFast(step.id.clone()));
        }
    }

    pub(super) fn unit_done(&mut self, result: UnitResult) {
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
                thread_id: result.thread_id.clone(),
                attempts: result.attempts,
                reused: false,
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

    pub(super) fn remember_thread(&mut self, i: usize, result: &UnitResult) {
        let Some(id) = &result.thread_id else { return };
        self.reopen.remove(id);
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
    pub(super) fn complete(&mut self, i: usize) {
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

    pub(super) fn finish(mut self, started: Instant) -> RunReport {
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

    pub(super) fn render_outputs(&self) -> Map<String, Value> {
        let context = self.context();
        self.spec
            .outputs
            .iter()
            .map(|(name, template)| {
                let value = self
                    .renderer
                    .render_value(template, &context)
                    .unwrap_or_else(|e| json!({ "error": e.to_string() }));
                (name.clone(), value)
            })
            .collect()
    }
}
