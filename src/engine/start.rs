//! Preparing a step's next unit: its rendered prompt, its thread, its turn options.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::agent::{Agent, ThreadOpen, ThreadOptions, TurnLabel, TurnSpec, Usage};
use super::approvals::ApprovalRules;
use super::event::Status;
use super::scheduler::{Scheduler, StepState};
use super::spec::{StepSpec, ThreadMode};
use super::unit::{ThreadPlan, Unit, UnitResult};
use crate::template::TemplateError;

/// What the scheduler can do next for a step.
pub(super) enum Prepared {
    /// A unit to spawn.
    Unit(Box<Unit>),
    /// A unit that failed before it could start (its prompt did not render).
    Finished(Box<UnitResult>),
    /// Nothing to start now.
    Nothing,
}

/// The next unit of step `i`, if the step is running, has elements left, and its
/// thread and `max_parallel` allow another one now.
pub(super) fn next_unit<A: Agent>(s: &mut Scheduler<'_, A>, i: usize) -> Prepared {
    if s.halt.is_some() {
        return Prepared::Nothing;
    }
    let step = &s.spec.steps[i];
    let shared_thread = matches!(step.thread, ThreadMode::Named(_) | ThreadMode::Resume(_));
    let limit = if shared_thread {
        1
    } else {
        step.max_parallel.unwrap_or(usize::MAX).max(1)
    };
    let StepState::Running(running) = &s.states[i] else {
        return Prepared::Nothing;
    };
    let total = running.total();
    if running.next >= total || running.active >= limit {
        return Prepared::Nothing;
    }
    let slot = running.next;
    let index = running.items.as_ref().map(|_| slot);
    let item = running.items.as_ref().map(|items| items[slot].clone());
    let mut context = s.context();
    if let (Some(item), Value::Object(map)) = (item, &mut context) {
        map.insert(step.as_name.clone(), item);
        map.insert(
            "loop".into(),
            json!({ "index": slot + 1, "index0": slot, "length": total, "first": slot == 0, "last": slot + 1 == total }),
        );
    }
    let rendered = s.renderer.render(&step.prompt, &context);
    let thread = thread_plan(s, step, &context);
    let approvals = ApprovalRules::new(&step.approve_commands, &step.approve_files);
    if let StepState::Running(running) = &mut s.states[i] {
        running.next += 1;
        running.active += 1;
    }
    s.active += 1;
    let failure = |error: String| {
        Prepared::Finished(Box::new(UnitResult {
            step: i,
            index,
            status: Status::Failed,
            output: Value::Null,
            error: Some(error),
            thread_id: None,
            usage: Usage::default(),
            attempts: 0,
            duration: Duration::ZERO,
            fatal: false,
        }))
    };
    let prompt = match rendered {
        Ok(p) => p,
        Err(e) => return failure(format!("the prompt could not be rendered: {e}")),
    };
    let approvals = Arc::new(approvals);
    let thread = match thread {
        Ok(t) => t,
        Err(e) => return failure(format!("the `resume` thread id could not be rendered: {e}")),
    };
    let step = &s.spec.steps[i];
    Prepared::Unit(Box::new(Unit {
        step: i,
        index,
        prompt,
        thread,
        turn: turn_spec(step, index, approvals),
        schema: s.schemas[i].clone(),
        timeout: step.timeout,
        retries: step.retries,
        max_tokens: step.max_tokens,
        retry_delay: s.retry_delay,
    }))
}

fn thread_plan<A: Agent>(
    s: &Scheduler<'_, A>,
    step: &StepSpec,
    context: &Value,
) -> Result<ThreadPlan, TemplateError> {
    let open = |how: ThreadOpen| {
        let options = ThreadOptions {
            model: step.model.clone(),
            effort: step.effort,
            developer_instructions: step.developer_instructions.clone(),
            cwd: Some(step.cwd.clone()),
            approval: step.approval,
            sandbox: step.sandbox,
        };
        ThreadPlan::Open(how, options)
    };
    Ok(match &step.thread {
        ThreadMode::Fresh => open(ThreadOpen::Start),
        ThreadMode::Named(name) => match s.threads.get(name) {
            Some(id) if s.reopen.contains(id) => open(ThreadOpen::Resume(id.clone())),
            Some(id) => ThreadPlan::Existing(id.clone()),
            None => open(ThreadOpen::Start),
        },
        ThreadMode::Fork(name) => match s.threads.get(name) {
            Some(id) => open(ThreadOpen::Fork(id.clone())),
            None => open(ThreadOpen::Start),
        },
        ThreadMode::Resume(template) => {
            let id = s.renderer.render(template, context)?.trim().to_string();
            match s.threads.get(&format!("resume:{id}")) {
                Some(current) => ThreadPlan::Existing(current.clone()),
                None => open(ThreadOpen::Resume(id)),
            }
        }
    })
}

fn turn_spec(step: &StepSpec, index: Option<usize>, approvals: Arc<ApprovalRules>) -> TurnSpec {
    TurnSpec {
        label: TurnLabel {
            step: step.id.clone(),
            index,
            attempt: 0,
        },
        thread_id: String::new(),
        input: String::new(),
        output_schema: None,
        model: step.model.clone(),
        effort: step.effort,
        approval: step.approval,
        sandbox: step.sandbox,
        cwd: step.cwd.clone(),
        approvals,
    }
}
