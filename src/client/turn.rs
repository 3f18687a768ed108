//! A running turn: its event stream, its result, and a cloneable controller that steers or
//! interrupts it from any task.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use super::app_server::Client;
use super::error::{Error, Result};
use super::events::{TurnEvent, TurnResult, TurnState};
use super::input::Input;
use super::items::TurnStatus;
use super::rpc::{Routed, turn_id_of};

/// Steers or interrupts one turn. Cheap to clone; usable while another task awaits the
/// turn's events.
#[derive(Clone)]
pub struct TurnController {
    client: Client,
    thread_id: String,
    turn_id: String,
}

impl std::fmt::Debug for TurnController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnController")
            .field("thread_id", &self.thread_id)
            .field("turn_id", &self.turn_id)
            .finish()
    }
}

impl TurnController {
    pub(crate) fn new(client: Client, thread_id: &str, turn_id: &str) -> TurnController {
        TurnController {
            client,
            thread_id: thread_id.to_owned(),
            turn_id: turn_id.to_owned(),
        }
    }

    /// The turn's id.
    pub fn turn_id(&self) -> &str {
        &self.turn_id
    }

    /// The thread's id.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// Ask the server to stop the turn; it then completes with status `interrupted`.
    /// Interrupting a turn that already ended is not an error.
    pub async fn interrupt(&self) -> Result<()> {
        let params = json!({ "threadId": self.thread_id, "turnId": self.turn_id });
        match self.client.request("turn/interrupt", params).await {
            Err(Error::InvalidRequest { message }) if message.contains("no active turn") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Add input to the running turn (`turn/steer`). Steering takes user input only: an
    /// [`ExternalMessage`](super::ExternalMessage) is refused with [`Error::InvalidParams`]
    /// before anything is sent.
    pub async fn steer(&self, input: impl Into<Input>) -> Result<()> {
        let input = input.into();
        if let Input::External(_) = input {
            return Err(Error::InvalidParams {
                message: "`turn/steer` takes user input, not an external message".into(),
            });
        }
        let params = json!({
            "threadId": self.thread_id,
            "expectedTurnId": self.turn_id,
            "input": input.items_value(),
        });
        self.client.request("turn/steer", params).await.map(drop)
    }
}

/// A running turn: a stream of its events (also via [`tokio_stream::Stream`]), and
/// [`wait`](TurnHandle::wait) for its result. Dropping it leaves the turn running; the
/// thread accepts its next turn once this one completes.
pub struct TurnHandle {
    controller: TurnController,
    events: mpsc::UnboundedReceiver<Routed>,
    state: TurnState,
    idle: Option<Duration>,
    idle_timer: Option<Pin<Box<Sleep>>>,
    outcome: Option<Result<TurnResult>>,
}

impl std::fmt::Debug for TurnHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnHandle")
            .field("turn_id", &self.controller.turn_id)
            .finish_non_exhaustive()
    }
}

impl TurnHandle {
    pub(crate) fn new(
        controller: TurnController,
        events: mpsc::UnboundedReceiver<Routed>,
        idle: Option<Duration>,
    ) -> TurnHandle {
        TurnHandle {
            state: TurnState::new(controller.turn_id.clone()),
            controller,
            events,
            idle_timer: idle.map(|idle| Box::pin(tokio::time::sleep(idle))),
            idle,
            outcome: None,
        }
    }

    /// The turn's id.
    pub fn turn_id(&self) -> &str {
        &self.controller.turn_id
    }

    /// The thread's id.
    pub fn thread_id(&self) -> &str {
        &self.controller.thread_id
    }

    /// A controller to interrupt or steer this turn from another task.
    pub fn controller(&self) -> TurnController {
        self.controller.clone()
    }

    /// Interrupt the turn (see [`TurnController::interrupt`]).
    pub async fn interrupt(&self) -> Result<()> {
        self.controller.interrupt().await
    }

    /// Steer the turn (see [`TurnController::steer`]).
    pub async fn steer(&self, input: impl Into<Input>) -> Result<()> {
        self.controller.steer(input).await
    }

    /// The next event, or `None` once the turn is over. After a
    /// [`TurnEvent::Completed`], or when the turn failed without one (the app-server
    /// exited, the watchdog fired), the stream ends; [`wait`](TurnHandle::wait) tells why.
    pub async fn next_event(&mut self) -> Option<TurnEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Drive the turn to its end and return its result. A failed turn is
    /// [`Error::TurnFailed`]; an interrupted one is `Ok` with status `interrupted`.
    pub async fn wait(mut self) -> Result<TurnResult> {
        while self.next_event().await.is_some() {}
        match self.outcome.take() {
            Some(Ok(result)) if result.status == TurnStatus::Failed => Err(Error::TurnFailed {
                turn_id: result.turn_id,
                error: Box::new(result.error.unwrap_or_default()),
            }),
            Some(outcome) => outcome,
            None => Err(Error::Closed),
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<TurnEvent>> {
        loop {
            if self.outcome.is_some() {
                return Poll::Ready(None);
            }
            match std::task::ready!(self.poll_receive(cx)) {
                Ok(routed) => {
                    if let Some(event) = self.accept(routed) {
                        return Poll::Ready(Some(event));
                    }
                }
                Err(error) => {
                    self.finish(Err(error));
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Routed>> {
        if let Poll::Ready(routed) = self.events.poll_recv(cx) {
            return Poll::Ready(routed.ok_or(Error::Closed));
        }
        match self
            .idle_timer
            .as_mut()
            .map(|timer| timer.as_mut().poll(cx))
        {
            Some(Poll::Ready(())) => Poll::Ready(Err(self.watchdog())),
            _ => Poll::Pending,
        }
    }

    fn accept(&mut self, routed: Routed) -> Option<TurnEvent> {
        let (method, params) = match routed {
            Routed::Closed(reason) => {
                self.finish(Err(reason.into()));
                return None;
            }
            Routed::Notification { method, params } => (method, params),
        };
        if !self.is_mine(&params) {
            return None;
        }
        if method == "thread/closed" {
            self.finish(Err(Error::ThreadClosed {
                thread_id: self.controller.thread_id.clone(),
                turn_id: self.controller.turn_id.clone(),
            }));
            return None;
        }
        if let (Some(idle), Some(timer)) = (self.idle, self.idle_timer.as_mut()) {
            timer.as_mut().reset(Instant::now() + idle);
        }
        let event = self.state.apply(method, params);
        if let TurnEvent::Completed(result) = &event {
            self.finish(Ok(result.clone()));
        }
        Some(event)
    }

    fn is_mine(&self, params: &Value) -> bool {
        turn_id_of(params).is_none_or(|turn| turn == self.controller.turn_id)
    }

    fn finish(&mut self, outcome: Result<TurnResult>) {
        let client = &self.controller.client;
        client
            .connection()
            .close_route(&self.controller.thread_id, Some(&self.controller.turn_id));
        self.outcome = Some(outcome);
    }

    fn watchdog(&self) -> Error {
        let controller = self.controller.clone();
        tokio::spawn(async move { controller.interrupt().await });
        Error::Watchdog {
            turn_id: self.controller.turn_id.clone(),
            idle: self.idle.unwrap_or_default(),
        }
    }
}

impl tokio_stream::Stream for TurnHandle {
    type Item = TurnEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TurnEvent>> {
        self.get_mut().poll_event(cx)
    }
}
