//! A conversation on the app-server: run turns on it, one at a time.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::app_server::Client;
use super::error::{Error, Result};
use super::events::{TurnEvent, TurnResult, TurnState};
use super::input::Input;
use super::items::ThreadInfo;
use super::options::TurnOptions;
use super::rpc::{Routed, turn_id_of};
use super::turn::{TurnController, TurnHandle};

/// A thread (conversation). Cheap to clone.
///
/// **One turn at a time**: the server silently joins a `turn/start` to the thread's
/// active turn, so [`Thread::turn`] and [`Thread::run`] *wait* until the thread's previous
/// turn (started through this client) has completed, then start the new one. Turns on
/// different threads run concurrently.
#[derive(Clone)]
pub struct Thread {
    client: Client,
    info: Arc<ThreadInfo>,
    reply: Arc<Value>,
}

impl std::fmt::Debug for Thread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.info.id)
            .finish_non_exhaustive()
    }
}

impl Thread {
    pub(crate) fn from_reply(client: Client, reply: Value) -> Result<Thread> {
        let info = ThreadInfo::from_value(reply["thread"].clone());
        if info.id.is_empty() {
            return Err(Error::Protocol {
                message: "a thread reply carries no thread id".into(),
            });
        }
        Ok(Thread {
            client,
            info: Arc::new(info),
            reply: Arc::new(reply),
        })
    }

    /// The thread id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The thread as the server described it when started, resumed or forked.
    pub fn info(&self) -> &ThreadInfo {
        &self.info
    }

    /// The whole start/resume/fork reply (`model`, `cwd`, `approvalPolicy`, `sandbox`, ...).
    pub fn reply(&self) -> &Value {
        &self.reply
    }

    /// The client this thread lives on.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Run one turn to completion. A failed turn is [`Error::TurnFailed`].
    pub async fn run(&self, input: impl Into<Input>, options: TurnOptions) -> Result<TurnResult> {
        self.turn(input, options).await?.wait().await
    }

    /// Start a turn and return its handle (events, steer, interrupt, wait). Waits first
    /// while another turn of this thread is running.
    pub async fn turn(&self, input: impl Into<Input>, options: TurnOptions) -> Result<TurnHandle> {
        let input = input.into();
        let slot = self.client.turn_slot(self.id()).acquire_owned().await?;
        let connection = self.client.connection();
        let events = connection.open_route(self.id(), slot)?;
        let params = options.to_params(self.id(), &input);
        let reply = match connection.turn_start(self.id(), params).await {
            Ok(reply) => reply,
            Err(error) => {
                connection.close_route(self.id(), None);
                return Err(error);
            }
        };
        let Some(turn_id) = reply["turn"]["id"].as_str() else {
            connection.close_route(self.id(), None);
            return Err(Error::Protocol {
                message: "a turn/start reply carries no turn id".into(),
            });
        };
        let controller = TurnController::new(self.client.clone(), self.id(), turn_id);
        Ok(TurnHandle::new(
            controller,
            events,
            self.client.turn_idle_timeout(),
        ))
    }

    /// Read this thread from the server (`thread/read`).
    pub async fn read(&self, include_turns: bool) -> Result<ThreadInfo> {
        self.client.thread_read(self.id(), include_turns).await
    }

    /// Name the thread (`thread/name/set`); `thread_list` can search for it.
    pub async fn set_name(&self, name: &str) -> Result<()> {
        let params = json!({ "threadId": self.id(), "name": name });
        self.client
            .request("thread/name/set", params)
            .await
            .map(drop)
    }

    /// Compact the thread's history (`thread/compact/start`): the server replaces it with
    /// a summary, in a turn of its own. Waits for this thread's turns to finish first, then
    /// for the compaction turn, and returns that turn's result (its item is a
    /// `contextCompaction`); later turns see the compacted history.
    pub async fn compact(&self) -> Result<TurnResult> {
        let slot = self.client.turn_slot(self.id()).acquire_owned().await?;
        let connection = self.client.connection();
        let events = connection.open_route(self.id(), slot)?;
        let params = json!({ "threadId": self.id() });
        if let Err(error) = self.client.request("thread/compact/start", params).await {
            connection.close_route(self.id(), None);
            return Err(error);
        }
        let outcome = compaction_turn(events, self.client.turn_idle_timeout()).await;
        connection.close_route(self.id(), None);
        outcome
    }
}

/// Follows the compaction turn the server starts on a thread: its id comes with its first
/// event; its result with `turn/completed`.
async fn compaction_turn(
    mut events: mpsc::UnboundedReceiver<Routed>,
    idle: Option<std::time::Duration>,
) -> Result<TurnResult> {
    let mut state: Option<TurnState> = None;
    loop {
        let next = events.recv();
        let routed = match idle {
            Some(limit) => {
                tokio::time::timeout(limit, next)
                    .await
                    .map_err(|_| Error::Watchdog {
                        turn_id: "compaction".into(),
                        idle: limit,
                    })?
            }
            None => next.await,
        };
        let (method, params) = match routed {
            Some(Routed::Notification { method, params }) => (method, params),
            Some(Routed::Closed(reason)) => return Err(reason.into()),
            None => return Err(Error::Closed),
        };
        let Some(turn_id) = turn_id_of(&params) else {
            continue;
        };
        let turn = state.get_or_insert_with(|| TurnState::new(turn_id.to_owned()));
        if let TurnEvent::Completed(result) = turn.apply(method, params) {
            return match result.status {
                super::TurnStatus::Failed => Err(Error::TurnFailed {
                    turn_id: result.turn_id,
                    error: Box::new(result.error.unwrap_or_default()),
                }),
                _ => Ok(result),
            };
        }
    }
}
