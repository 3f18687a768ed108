//! One unit of work: a step, or one element of a step's fan-out, run as turns on one
//! thread until its output is valid or its attempts, time or tokens run out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::agent::{
    Agent, AgentError, AgentEvent, StopReason, ThreadOpen, ThreadOptions, TurnEnd, TurnOutcome,
    TurnSpec, Usage,
};
use super::event::Status;
use super::output::{OutputError, OutputSchema};
use crate::client::RetryPolicy;
use crate::vocab::format_duration;

/// Where a unit's thread comes from, decided by the scheduler.
#[derive(Debug, Clone)]
pub enum ThreadPlan {
    Existing(String),
    Open(ThreadOpen, ThreadOptions),
}

/// A unit ready to run: its prompt is rendered, its thread decided.
pub struct Unit {
    pub step: usize,
    pub index: Option<usize>,
    pub prompt: String,
    pub thread: ThreadPlan,
    pub turn: TurnSpec,
    pub schema: Option<Arc<OutputSchema>>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub max_tokens: Option<u64>,
    pub retry_delay: Duration,
}

/// What a running unit tells the scheduler.
#[derive(Debug)]
pub enum UnitMsg {
    Started {
        thread_id: String,
        attempt: u32,
        prompt: String,
    },
    Event(AgentEvent),
    Retrying {
        attempt: u32,
        reason: String,
    },
}

/// A finished unit.
#[derive(Debug, Clone)]
pub struct UnitResult {
    pub step: usize,
    pub index: Option<usize>,
    pub status: Status,
    pub output: Value,
    pub error: Option<String>,
    pub thread_id: Option<String>,
    pub usage: Usage,
    pub attempts: u32,
    pub duration: Duration,
    /// The agent is gone or broke the protocol: the run cannot go on.
    pub fatal: bool,
}

impl UnitResult {
    /// A unit that never ran.
    pub fn skipped(step: usize, index: Option<usize>, reason: String) -> Self {
        Self {
            step,
            index,
            status: Status::Skipped,
            output: Value::Null,
            error: Some(reason),
            thread_id: None,
            usage: Usage::default(),
            attempts: 0,
            duration: Duration::ZERO,
            fatal: false,
        }
    }
}

type Sender = mpsc::UnboundedSender<(usize, Option<usize>, UnitMsg)>;

struct Ctx<'a> {
    tx: &'a Sender,
    step: usize,
    index: Option<usize>,
}

impl Ctx<'_> {
    fn send(&self, msg: UnitMsg) {
        let _ = self.tx.send((self.step, self.index, msg));
    }
}

/// Runs `unit` to its end. Never panics on agent behaviour; every failure is a result.
pub async fn run<A: Agent>(
    agent: Arc<A>,
    unit: Unit,
    tx: Sender,
    stop: watch::Receiver<Option<StopReason>>,
) -> UnitResult {
    let started = Instant::now();
    let ctx = Ctx {
        tx: &tx,
        step: unit.step,
        index: unit.index,
    };
    let mut result = UnitResult {
        step: unit.step,
        index: unit.index,
        status: Status::Failed,
        output: Value::Null,
        error: None,
        thread_id: None,
        usage: Usage::default(),
        attempts: 0,
        duration: Duration::ZERO,
        fatal: false,
    };
    let thread_id = match &unit.thread {
        ThreadPlan::Existing(id) => id.clone(),
        ThreadPlan::Open(how, options) => {
            match agent.open_thread(how.clone(), options.clone()).await {
                Ok(id) => id,
                Err(err) => {
                    result.fatal = matches!(err, AgentError::Fatal(_));
                    result.error = Some(format!("could not open a thread: {err}"));
                    result.duration = started.elapsed();
                    return result;
                }
            }
        }
    };
    result.thread_id = Some(thread_id.clone());
    let deadline = unit
        .timeout
        .map(|t| tokio::time::Instant::from_std(started + t));
    attempts(&*agent, &unit, &ctx, stop, deadline, thread_id, &mut result).await;
    result.duration = started.elapsed();
    result
}

async fn attempts<A: Agent>(
    agent: &A,
    unit: &Unit,
    ctx: &Ctx<'_>,
    mut stop: watch::Receiver<Option<StopReason>>,
    deadline: Option<tokio::time::Instant>,
    thread_id: String,
    result: &mut UnitResult,
) {
    let mut input = unit.prompt.clone();
    let max_attempts = unit.retries + 1;
    for attempt in 1..=max_attempts {
        result.attempts = attempt;
        ctx.send(UnitMsg::Started {
            thread_id: thread_id.clone(),
            attempt,
            prompt: input.clone(),
        });
        let mut turn = unit.turn.clone();
        turn.label.attempt = attempt;
        turn.thread_id = thread_id.clone();
        turn.input = input.clone();
        turn.output_schema = unit.schema.as_ref().map(|s| s.for_model().clone());
        let (outcome, stopped) =
            one_turn(agent, turn, ctx, &mut stop, deadline, unit, result.usage).await;
        if let Ok(o) = &outcome {
            result.usage.add(&o.usage);
        }
        let next = judge(unit, outcome, stopped, result);
        match next {
            Next::Done => return,
            Next::Again {
                reason,
                input: new_input,
            } if attempt < max_attempts => {
                ctx.send(UnitMsg::Retrying {
                    attempt: attempt + 1,
                    reason: reason.clone(),
                });
                if let Some(prompt) = new_input {
                    input = prompt;
                } else {
                    let delay = backoff(unit.retry_delay, attempt);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.wait_for(Option::is_some) => {}
                    }
                }
                result.error = Some(reason);
            }
            Next::Again { reason, .. } => {
                result.error = Some(format!("{reason} (after {attempt} attempts)"));
                return;
            }
        }
    }
}

enum Next {
    Done,
    /// Try again: with a new prompt (the output was invalid), or the same one after a pause.
    Again {
        reason: String,
        input: Option<String>,
    },
}

fn judge(
    unit: &Unit,
    outcome: Result<TurnOutcome, AgentError>,
    stopped: Option<StopReason>,
    result: &mut UnitResult,
) -> Next {
    if let Some(reason) = stopped {
        result.status = if reason == StopReason::Cancelled {
            Status::Interrupted
        } else {
            Status::Failed
        };
        result.error = Some(describe_stop(&reason));
        return Next::Done;
    }
    let outcome = match outcome {
        Ok(o) => o,
        Err(AgentError::Retryable(msg)) => {
            return Next::Again {
                reason: format!("the agent is overloaded: {msg}"),
                input: None,
            };
        }
        Err(err) => {
            result.fatal = matches!(err, AgentError::Fatal(_));
            result.error = Some(err.to_string());
            return Next::Done;
        }
    };
    match outcome.end {
        TurnEnd::Interrupted => {
            result.error = Some("the turn was interrupted".into());
            Next::Done
        }
        TurnEnd::Failed { message, retryable } => {
            let reason = format!("the turn failed: {message}");
            if retryable {
                Next::Again {
                    reason,
                    input: None,
                }
            } else {
                result.error = Some(reason);
                Next::Done
            }
        }
        TurnEnd::Completed => check_output(unit, outcome.final_response.as_deref(), result),
    }
}

fn check_output(unit: &Unit, answer: Option<&str>, result: &mut UnitResult) -> Next {
    let Some(schema) = &unit.schema else {
        result.status = Status::Succeeded;
        result.error = None;
        result.output = answer.map_or(Value::Null, |a| Value::String(a.to_string()));
        return Next::Done;
    };
    match schema.check(answer) {
        Ok(value) => {
            result.status = Status::Succeeded;
            result.error = None;
            result.output = value;
            Next::Done
        }
        Err(err) => {
            let last = answer.unwrap_or("");
            let reason = format!("{err}; the last answer was: {}", clip(last, 400));
            Next::Again {
                reason,
                input: Some(correction(&err)),
            }
        }
    }
}

fn correction(err: &OutputError) -> String {
    let detail = match err {
        OutputError::Invalid { errors } => errors
            .iter()
            .map(|e| format!("- {e}"))
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("- {other}"),
    };
    format!(
        "Your previous answer is not valid output for this step:\n{detail}\n\
         Answer again with only a JSON value that matches the output schema."
    )
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Runs one turn, forwarding its events and enforcing the deadline and token budgets.
/// Returns the outcome and the reason weft stopped the turn, if it did.
async fn one_turn<A: Agent>(
    agent: &A,
    turn: TurnSpec,
    ctx: &Ctx<'_>,
    outer: &mut watch::Receiver<Option<StopReason>>,
    deadline: Option<tokio::time::Instant>,
    unit: &Unit,
    used_before: Usage,
) -> (Result<TurnOutcome, AgentError>, Option<StopReason>) {
    let (stop_tx, stop_rx) = watch::channel(None);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut stopped: Option<StopReason> = outer.borrow().clone();
    if stopped.is_some() {
        return (Err(AgentError::Rejected("stopped".into())), stopped);
    }
    let fut = agent.run_turn(turn, ev_tx, stop_rx);
    tokio::pin!(fut);
    let far = tokio::time::Instant::now() + Duration::from_secs(86400 * 365);
    let outcome = loop {
        tokio::select! {
            outcome = &mut fut => break outcome,
            Some(event) = ev_rx.recv() => {
                let event = match event {
                    AgentEvent::Usage(turn_usage) => {
                        let mut so_far = used_before;
                        so_far.add(&turn_usage);
                        if unit.max_tokens.is_some_and(|b| turn_usage.total_tokens > b) && stopped.is_none() {
                            stopped = Some(StopReason::StepBudget(unit.max_tokens.unwrap_or_default()));
                            let _ = stop_tx.send(stopped.clone());
                        }
                        AgentEvent::Usage(so_far)
                    }
                    other => other,
                };
                ctx.send(UnitMsg::Event(event));
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if stopped.is_none() && deadline.is_some() => {
                stopped = Some(StopReason::Timeout(unit.timeout.unwrap_or_default()));
                let _ = stop_tx.send(stopped.clone());
            }
            Ok(()) = outer.changed(), if stopped.is_none() => {
                if let Some(reason) = outer.borrow().clone() {
                    stopped = Some(reason);
                    let _ = stop_tx.send(stopped.clone());
                }
            }
        }
    };
    while let Ok(event) = ev_rx.try_recv() {
        if !matches!(event, AgentEvent::Usage(_)) {
            ctx.send(UnitMsg::Event(event));
        }
    }
    (outcome, stopped)
}

/// Describes why weft stopped a turn, for the step's error.
pub fn describe_stop(reason: &StopReason) -> String {
    match reason {
        StopReason::Timeout(t) => {
            format!(
                "timed out after {}; the turn was interrupted",
                format_duration(*t)
            )
        }
        StopReason::StepBudget(n) => {
            format!("exceeded the token budget of {n} per turn; the turn was interrupted")
        }
        StopReason::RunBudget(n) => {
            format!("exceeded the run's token budget of {n}; the turn was interrupted")
        }
        StopReason::RunTimeout(t) => format!(
            "the run timed out after {}; the turn was interrupted",
            format_duration(*t)
        ),
        StopReason::Cancelled => "interrupted".into(),
    }
}

/// The pause before retrying after failed attempt `attempt`: `base` doubling per attempt,
/// up to 30 s, ±20 % jitter (the client's [`RetryPolicy`]).
fn backoff(base: Duration, attempt: u32) -> Duration {
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        initial_delay: base,
        max_delay: Duration::from_secs(30),
        jitter: 0.2,
    };
    policy.delay(attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        assert!(backoff(base, 1) <= Duration::from_millis(120));
        assert!(backoff(base, 3) >= Duration::from_millis(320));
        assert!(backoff(Duration::from_secs(10), 5) <= Duration::from_secs(36));
    }
}
