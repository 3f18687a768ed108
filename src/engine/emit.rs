//! From what units tell the scheduler to the run events reporters see.

use super::agent::{Agent, AgentEvent};
use super::event::RunEvent;
use super::outcome::StepRecord;
use super::scheduler::Scheduler;
use super::unit::UnitMsg;

impl<A: Agent> Scheduler<'_, A> {
    /// Reports a running unit's message as a run event (and tracks its usage).
    pub(super) fn message(&mut self, step: usize, index: Option<usize>, msg: UnitMsg) {
        let id = self.spec.steps[step].id.clone();
        let event = match msg {
            UnitMsg::Started {
                thread_id,
                attempt,
                prompt,
            } => RunEvent::StepStarted {
                step: id,
                index,
                thread_id,
                attempt,
                prompt: Some(prompt),
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
            UnitMsg::Event(AgentEvent::ApprovalRequested { kind, subject }) => {
                RunEvent::ApprovalRequested {
                    step: id,
                    index,
                    kind,
                    subject,
                }
            }
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
}

/// The `step.finished` event of a step's record.
pub(super) fn finished_event(rec: &StepRecord) -> RunEvent {
    RunEvent::StepFinished {
        step: rec.id.clone(),
        index: None,
        status: rec.status,
        error: rec.error.clone(),
        output: Some(rec.output.clone()),
        duration_ms: rec.duration_ms,
        usage: rec.usage,
        thread_id: rec.thread_id.clone(),
        attempts: rec.attempts,
        reused: rec.reused,
    }
}
