//! The scheduler's template contexts (one per workflow file of the run) and the end of
//! a run: its status, usage and outputs, and the last event.

use std::time::Instant;

use serde_json::{Map, Value};

use super::super::context::scope_context;
use super::super::event::{RunEvent, Status};
use super::super::outcome::{RunReport, StepRecord, outputs, run_status, total_usage};
use super::super::spec::StepSpec;
use super::super::step_state::StepState;
use super::Scheduler;

impl Scheduler<'_> {
    /// The template context of the run's own workflow.
    pub(super) fn context(&self) -> Value {
        self.context_for(0)
    }

    /// The template context of scope `scope`: its inputs, its finished steps, workflow,
    /// run and allowed env.
    pub(super) fn context_for(&self, scope: usize) -> Value {
        let done = self.steps.iter().filter_map(|s| match s {
            StepState::Done(rec) => Some(rec.as_ref()),
            _ => None,
        });
        let inputs = self
            .scope_inputs
            .get(scope)
            .cloned()
            .flatten()
            .unwrap_or(Value::Null);
        scope_context(&self.spec, scope, &inputs, done)
    }

    pub(super) fn finish(mut self, started: Instant) -> RunReport {
        let done: Vec<(&StepSpec, &StepRecord)> = (self.spec.steps.iter().zip(&self.steps))
            .filter_map(|(spec, s)| match s {
                StepState::Done(rec) => Some((spec, rec.as_ref())),
                _ => None,
            })
            .collect();
        let own_steps: Vec<(&StepSpec, &StepRecord)> = done
            .iter()
            .filter(|(spec, _)| spec.parent.is_none())
            .copied()
            .collect();
        let status = run_status(&own_steps, self.halt.as_ref(), self.fatal.is_some());
        let own: Vec<StepRecord> = done
            .iter()
            .filter(|(spec, _)| spec.call.is_none())
            .map(|(_, rec)| (*rec).clone())
            .collect();
        let usage = total_usage(&own);
        let steps: Vec<StepRecord> = done.into_iter().map(|(_, rec)| rec.clone()).collect();
        let outputs = match status {
            Status::Succeeded => outputs(&self.spec, &self.renderer, &self.context()),
            _ => Map::new(),
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
}
