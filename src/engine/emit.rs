//! From what units tell the scheduler, and what steps end with, to the run events
//! reporters see.

use serde_json::Value;

use super::agent::AgentEvent;
use super::event::RunEvent;
use super::kinds::Kind;
use super::outcome::StepRecord;
use super::resume::SeedElement;
use super::unit::{UnitMsg, UnitResult};

/// The event of a running unit's message; `step` is its step's id, `kind` its kind,
/// `item` a fan-out element's `for_each` item.
pub(super) fn unit_event(
    (step, index, kind): (String, Option<usize>, Kind),
    msg: UnitMsg,
    item: Option<Value>,
) -> RunEvent {
    match msg {
        UnitMsg::Started {
            thread_id,
            attempt,
            prompt,
            iteration,
        } => RunEvent::StepStarted {
            step,
            index,
            thread_id,
            attempt,
            prompt: Some(prompt),
            kind,
            iteration,
            item,
        },
        UnitMsg::Retrying { attempt, reason } => RunEvent::StepRetrying {
            step,
            index,
            attempt,
            reason,
        },
        UnitMsg::Event(event) => agent_event(step, index, event),
        UnitMsg::Iteration(it) => RunEvent::IterationFinished {
            step,
            index,
            iteration: it.number,
            status: it.status,
            error: it.error,
            output: it.output,
            duration_ms: it.duration_ms,
            usage: it.usage,
            thread_id: it.thread_id,
            attempts: it.attempts,
            ended: it.ended,
        },
        UnitMsg::Waiting { question } => RunEvent::GateWaiting {
            step,
            index,
            question,
        },
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

/// The `step.finished` event of one fan-out element of a step of `kind`.
pub(super) fn element_finished(step: String, kind: Kind, result: &UnitResult) -> RunEvent {
    let script = kind == Kind::Script;
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
        kind,
        exit_code: script.then(|| result.exit_code.map_or(Value::Null, Value::from)),
        stderr: script.then(|| result.stderr.clone().map_or(Value::Null, Value::String)),
        iterations: result.iterations.clone().map(Value::Array),
        patch: result.patch.clone(),
        cached: result.cached.is_some(),
        saved: result.cached,
    }
}

/// The `step.finished` event of a fan-out element an earlier run finished.
pub(super) fn element_reused(element: &SeedElement) -> RunEvent {
    let mut event = step_finished(&element.record);
    if let RunEvent::StepFinished {
        step,
        index,
        reused,
        ..
    } = &mut event
    {
        step.clone_from(&element.step);
        *index = Some(element.index);
        *reused = true;
    }
    event
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
        kind: rec.kind,
        exit_code: rec.exit_code.clone(),
        stderr: rec.stderr.clone(),
        iterations: rec.iterations.clone(),
        patch: rec.patch.clone().map(Box::new),
        cached: rec.cached,
        saved: rec.saved,
    }
}
