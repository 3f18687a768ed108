//! A turn's events as the caller sees them, its result, and the state that folds the
//! server's notifications into both.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::items::{ThreadItem, TokenUsage, TurnError, TurnStatus, final_response};

/// One event of a turn, in the order the server sent them.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    /// `turn/started`.
    Started {
        /// The turn.
        turn_id: String,
    },
    /// A piece of an agent message's text (`item/agentMessage/delta`); concatenate per item.
    AgentMessageDelta {
        /// The agent message item.
        item_id: String,
        /// The new text.
        delta: String,
    },
    /// A piece of reasoning text (summary or raw).
    ReasoningDelta {
        /// The reasoning item.
        item_id: String,
        /// The new text.
        delta: String,
    },
    /// An item began (`item/started`).
    ItemStarted(ThreadItem),
    /// An item finished (`item/completed`).
    ItemCompleted(ThreadItem),
    /// Output of a running command (`item/commandExecution/outputDelta`).
    CommandOutputDelta {
        /// The command item.
        item_id: String,
        /// The new output.
        delta: String,
    },
    /// The thread's token usage after a model request (`thread/tokenUsage/updated`).
    TokenUsage(TokenUsage),
    /// An error (`error`); with `will_retry` false the turn fails next.
    Error {
        /// What went wrong.
        error: TurnError,
        /// Whether the server retries by itself.
        will_retry: bool,
    },
    /// The turn ended (`turn/completed`); always the last event.
    Completed(TurnResult),
    /// Any other notification about this turn or its thread.
    Other {
        /// The method.
        method: String,
        /// Its params.
        params: Value,
    },
}

/// The outcome of one turn.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnResult {
    /// The turn.
    pub turn_id: String,
    /// How it ended.
    pub status: TurnStatus,
    /// The last agent message with phase `final_answer`, else the last agent message;
    /// `None` when the turn produced none.
    pub final_response: Option<String>,
    /// Every item completed during the turn, in order.
    pub items: Vec<ThreadItem>,
    /// The thread's token usage as last reported during the turn.
    pub usage: Option<TokenUsage>,
    /// How long the turn ran (the server's figure when it sends one).
    pub duration: Duration,
    /// The server's error, for a failed (or errored and interrupted) turn.
    pub error: Option<TurnError>,
}

/// Folds one turn's notifications into events and, at the end, its result.
#[derive(Debug)]
pub(crate) struct TurnState {
    turn_id: String,
    started: Instant,
    items: Vec<ThreadItem>,
    usage: Option<TokenUsage>,
    last_error: Option<TurnError>,
}

impl TurnState {
    pub fn new(turn_id: String) -> TurnState {
        TurnState {
            turn_id,
            started: Instant::now(),
            items: Vec::new(),
            usage: None,
            last_error: None,
        }
    }

    /// The event for one notification of this turn.
    pub fn apply(&mut self, method: String, params: Value) -> TurnEvent {
        let text = |key: &str| params[key].as_str().unwrap_or_default().to_owned();
        match method.as_str() {
            "turn/started" => TurnEvent::Started {
                turn_id: self.turn_id.clone(),
            },
            "item/started" => {
                TurnEvent::ItemStarted(ThreadItem::from_value(params["item"].clone()))
            }
            "item/completed" => {
                let item = ThreadItem::from_value(params["item"].clone());
                self.items.push(item.clone());
                TurnEvent::ItemCompleted(item)
            }
            "item/agentMessage/delta" => TurnEvent::AgentMessageDelta {
                item_id: text("itemId"),
                delta: text("delta"),
            },
            "item/reasoning/summaryTextDelta" | "item/reasoning/textDelta" => {
                TurnEvent::ReasoningDelta {
                    item_id: text("itemId"),
                    delta: text("delta"),
                }
            }
            "item/commandExecution/outputDelta" => TurnEvent::CommandOutputDelta {
                item_id: text("itemId"),
                delta: text("delta"),
            },
            "thread/tokenUsage/updated" => self.on_usage(&method, params),
            "error" => self.on_error(&method, params),
            "turn/completed" => TurnEvent::Completed(self.result(&params["turn"])),
            _ => TurnEvent::Other { method, params },
        }
    }

    fn on_usage(&mut self, method: &str, params: Value) -> TurnEvent {
        match serde_json::from_value::<TokenUsage>(params["tokenUsage"].clone()) {
            Ok(usage) => {
                self.usage = Some(usage);
                TurnEvent::TokenUsage(usage)
            }
            Err(_) => other(method, params),
        }
    }

    fn on_error(&mut self, method: &str, params: Value) -> TurnEvent {
        match serde_json::from_value::<TurnError>(params["error"].clone()) {
            Ok(error) => {
                self.last_error = Some(error.clone());
                TurnEvent::Error {
                    error,
                    will_retry: params["willRetry"].as_bool().unwrap_or(false),
                }
            }
            Err(_) => other(method, params),
        }
    }

    fn result(&mut self, turn: &Value) -> TurnResult {
        let status = serde_json::from_value(turn["status"].clone()).unwrap_or(TurnStatus::Unknown);
        let error = serde_json::from_value(turn["error"].clone())
            .ok()
            .flatten()
            .or_else(|| {
                (status == TurnStatus::Failed)
                    .then(|| self.last_error.clone())
                    .flatten()
            });
        let duration = turn["durationMs"]
            .as_u64()
            .map(Duration::from_millis)
            .unwrap_or_else(|| self.started.elapsed());
        let mut items = std::mem::take(&mut self.items);
        if items.is_empty() {
            let listed = turn["items"].as_array().cloned().unwrap_or_default();
            items = listed.into_iter().map(ThreadItem::from_value).collect();
        }
        TurnResult {
            turn_id: self.turn_id.clone(),
            status,
            final_response: final_response(&items),
            items,
            usage: self.usage,
            duration,
            error,
        }
    }
}

fn other(method: &str, params: Value) -> TurnEvent {
    TurnEvent::Other {
        method: method.to_owned(),
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folds_items_usage_and_completion_into_a_result() {
        let mut state = TurnState::new("u".into());
        let item = json!({"type": "agentMessage", "id": "m", "text": "hi", "phase": null});
        state.apply("item/completed".into(), json!({"item": item}));
        let usage =
            json!({"tokenUsage": {"total": {"totalTokens": 15}, "last": {"totalTokens": 15}}});
        let event = state.apply("thread/tokenUsage/updated".into(), usage);
        assert!(matches!(event, TurnEvent::TokenUsage(u) if u.total.total_tokens == 15));
        let done =
            json!({"turn": {"id": "u", "status": "completed", "items": [], "durationMs": 7}});
        let TurnEvent::Completed(result) = state.apply("turn/completed".into(), done) else {
            panic!("no completion");
        };
        assert_eq!(result.final_response.as_deref(), Some("hi"));
        assert_eq!(result.duration, Duration::from_millis(7));
        assert_eq!(result.status, TurnStatus::Completed);
    }
}
