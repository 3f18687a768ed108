//! The attempts of a turn unit: each a turn on the unit's thread; an invalid answer is
//! sent back with its errors, a transient failure retried after a pause.

use std::time::Duration;

use serde_json::Value;

use super::one_turn::one_turn;
use super::unit::TurnUnit;
use crate::client::RetryPolicy;
use crate::engine::agent::{Agent, AgentError, StopReason, TurnEnd, TurnOutcome};
use crate::engine::event::Status;
use crate::engine::output::OutputError;
use crate::engine::unit::{UnitLink, UnitMsg, UnitResult, describe_stop};

/// Runs attempts on `thread_id` until one gives a valid output, or the attempts, the
/// `deadline`, the token budgets or a stop end them; fills `result`.
pub(super) async fn attempts<A: Agent>(
    unit: &TurnUnit<A>,
    link: UnitLink,
    deadline: Option<tokio::time::Instant>,
    thread_id: String,
    result: &mut UnitResult,
) {
    let UnitLink { sender, mut stop } = link;
    let mut input = unit.prompt.clone();
    let max_attempts = unit.retries + 1;
    for attempt in 1..=max_attempts {
        result.attempts = attempt;
        sender.send(UnitMsg::Started {
            thread_id: Some(thread_id.clone()),
            attempt,
            prompt: input.clone(),
            iteration: unit.iteration,
        });
        let mut turn = unit.turn.clone();
        turn.label.attempt = attempt;
        turn.thread_id = thread_id.clone();
        turn.input = input.clone();
        turn.output_schema = unit.schema.as_ref().map(|s| s.for_model().clone());
        let (outcome, stopped) =
            one_turn(unit, turn, &sender, &mut stop, deadline, result.usage).await;
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
                sender.send(UnitMsg::Retrying {
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

fn judge<A>(
    unit: &TurnUnit<A>,
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

fn check_output<A>(unit: &TurnUnit<A>, answer: Option<&str>, result: &mut UnitResult) -> Next {
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

/// The pause before retrying after failed attempt `attempt`: `base` doubling per attempt,
/// up to 30 s, ±20 % jitter (the client's [`RetryPolicy`]).
pub(in crate::engine) fn backoff(base: Duration, attempt: u32) -> Duration {
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
