//! One turn of a turn unit: run it, forward its events, and interrupt it when the
//! unit's deadline or token budget passes or the scheduler stops the run.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::unit::TurnUnit;
use crate::engine::agent::{
    Agent, AgentError, AgentEvent, StopReason, TurnOutcome, TurnSpec, Usage,
};
use crate::engine::unit::{UnitMsg, UnitSender};

/// Runs one turn, forwarding its events and enforcing the deadline and token budgets.
/// Returns the outcome and the reason weft stopped the turn, if it did.
pub(super) async fn one_turn<A: Agent>(
    unit: &TurnUnit<A>,
    turn: TurnSpec,
    sender: &UnitSender,
    outer: &mut watch::Receiver<Option<StopReason>>,
    deadline: Option<tokio::time::Instant>,
    used_before: Usage,
) -> (Result<TurnOutcome, AgentError>, Option<StopReason>) {
    let (stop_tx, stop_rx) = watch::channel(None);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut stopped: Option<StopReason> = outer.borrow().clone();
    if stopped.is_some() {
        return (Err(AgentError::Rejected("stopped".into())), stopped);
    }
    let fut = unit.agent.run_turn(turn, ev_tx, stop_rx);
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
                sender.send(UnitMsg::Event(event));
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
            sender.send(UnitMsg::Event(event));
        }
    }
    (outcome, stopped)
}
