//! The scheduler's side of steps that `uses` a workflow: their parts wait until they
//! open, and they close once their parts are done ([`crate::engine::calls`] has the rules).

use std::time::Instant;

use super::super::calls;
use super::super::event::Status;
use super::super::step_state::StepState;
use super::Scheduler;

impl Scheduler<'_> {
    /// Whether the step calling the workflow step `i` is in (if any) has opened.
    pub(super) fn caller_open(&self, i: usize) -> bool {
        self.spec.steps[i]
            .parent
            .is_none_or(|p| matches!(self.steps[p], StepState::Calling(_)))
    }

    /// Why step `i` will never run: the step calling its workflow ended without opening.
    pub(super) fn caller_ended(&self, i: usize) -> Option<String> {
        let p = self.spec.steps[i].parent?;
        let StepState::Done(rec) = &self.steps[p] else {
            return None;
        };
        Some(format!(
            "`{}` did not run: {}",
            rec.id,
            rec.error.as_deref().unwrap_or(rec.status.as_str())
        ))
    }

    /// Opens call step `i`: its workflow's inputs from its `with`; its parts may start.
    pub(super) fn open_call(&mut self, i: usize) {
        let step = &self.spec.steps[i];
        let Some(call) = &step.call else { return };
        let context = self.context_for(step.scope);
        match calls::open(call, step.scope, &self.renderer, &context) {
            Ok(inputs) => {
                self.scope_inputs[call.scope] = Some(inputs);
                self.steps[i] = StepState::Calling(Instant::now());
                self.close_call(i);
            }
            Err(error) => self.end_early(i, Status::Failed, error),
        }
    }

    /// Closes call step `p` once every step of its workflow is done.
    pub(super) fn close_call(&mut self, p: usize) {
        let StepState::Calling(started) = self.steps[p] else {
            return;
        };
        let mut parts = Vec::new();
        for part in self.spec.parts(p) {
            match &self.steps[part] {
                StepState::Done(rec) => parts.push((&self.spec.steps[part], rec.as_ref())),
                _ => return,
            }
        }
        let step = &self.spec.steps[p];
        let Some(call) = &step.call else { return };
        let context = self.context_for(call.scope);
        let rec = calls::close(step, call, &parts, &self.renderer, &context, started);
        self.finish_step(p, rec);
    }
}
