//! From what units tell the scheduler, and what steps end with, to the run events
//! reporters see.

use super::agent::AgentEvent;
use super::event::RunEvent;
use super::outcome::StepRecord;
use super::resume::SeedElement;
use super::unit::{UnitMsg, UnitResult};

/// The event of a running unit's message; `step` is its step's id.
pub(super) fn unit_event(step: String, index: Option<usize>, msg: UnitMsg) -> RunEvent {
    match msg {
        UnitMsg::Started {
            thread_id,
            attempt,
            prompt,
        } => RunEvent::StepStarted {
            step,
            index,
            thread_id,
            attempt,
            prompt: Some(prompt),
        },
        UnitMsg::Retrying { attempt, reason } => RunEvent::StepRetrying {
            step,
            index,
            attempt,
            reason,
        },
        UnitMsg::Event(event) => agent_event(step, index, event),
    }
}

fn agent_event(step: String, index: Option<usize>, event: AgentEvent) -> RunEvent {
    match event {
        AgentEvent::Delta(delta) => RunEvent::TurnDelta { step, index, delta },
        AgentEvent::Activity(activity) => RunEvent::TurnActivity {
            step,
            index,
            activity,
        },
        AgentEvent::ApprovalRequested { kind, subject } => RunEvent::ApprovalRequested {
            step,
            index,
            kind,
            subject,
        },
        AgentEvent::Approval {
            kind,
            subject,
            approved,
            reason,
        } => RunEvent::ApprovalDecided {
            step,
            index,
            kind,
            subject,
            approved,
            reason,
        },
        AgentEvent::Usage(usage) => RunEvent::TurnUsage { step, index, usage },
    }
}

/// The `step.finished` event of one fan-out element.
pub(super) fn element_finished(step: String, result: &UnitResult) -> RunEvent {
    RunEvent::StepFinished {
        step,
        index: result.key.index,
        status: result.status,
        error: result.error.clone(),
        output: Some(result.output.clone()),
        duration_ms: result.duration.as_millis() as u64,
        usage: result.usage,
        thread_id: result.thread_id.clone(),
        attempts: result.attempts,
        reused: false,
    }
}

/// The `step.finished` event of a fan-out element an earlier run finished.
pub(super) fn element_reused(element: &SeedElement) -> RunEvent {
    let rec = &element.record;
    RunEvent::StepFinished {
        step: element.step.clone(),
        index: Some(element.index),
        status: rec.status,
        error: rec.error.clone(),
        output: Some(rec.output.clone()),
        duration_ms: rec.duration_ms,
        usage: rec.usage,
        thread_id: rec.thread_id.clone(),
        attempts: rec.attempts,
        reused: true,
    }
}

/// The `step.finished` event of a step's record.
pub(super) fn step_finished(rec: &StepRecord) -> RunEvent {
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
