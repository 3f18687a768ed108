//! The model provider weft puts in front of the app-server for `--record` and
//! `--replay`: an HTTP server on 127.0.0.1 that serves `POST /v1/responses`, tells which
//! step's turn each request belongs to, and forwards it (record) or answers it from the
//! cassette (replay).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::format::{Exchange, ExchangeKey};
use super::record::{Upstream, forward};
use super::replay::{Mismatch, Replay, answer};
use super::wire;
use crate::engine::ActiveTurns;
use crate::engine::agent::TurnLabel;

/// What the server does with each request.
pub enum TapeMode {
    /// Forward to the real provider and record every exchange.
    Record(Upstream),
    /// Answer from a cassette.
    Replay(Replay),
}

/// What happened while the server ran.
#[derive(Debug, Default)]
pub struct TapeLog {
    /// Recorded exchanges (record mode), in arrival order.
    pub recorded: Vec<Exchange>,
    /// Requests that differ from the cassette or have no recorded answer (replay mode).
    pub mismatches: Vec<Mismatch>,
    /// The keys that were answered from the cassette (replay mode).
    pub served: Vec<ExchangeKey>,
    /// Requests weft could not tie to a step's turn (they were not recorded).
    pub unattributed: usize,
}

pub(super) struct Shared {
    pub mode: TapeMode,
    pub turns: ActiveTurns,
    /// Texts replaced by names in every prompt before it is recorded or compared.
    pub placeholders: Mutex<Vec<(String, String)>>,
    pub requests: Mutex<HashMap<TurnLabel, u32>>,
    pub log: Mutex<TapeLog>,
}

impl Shared {
    pub fn log(&self) -> std::sync::MutexGuard<'_, TapeLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of a request: the turn running on its thread, and the request's number
    /// within that turn.
    fn attribute(&self, headers: &HeaderMap, body: &Value) -> Option<ExchangeKey> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let thread = header("thread-id")
            .or_else(|| header("session-id"))
            .or_else(|| body["prompt_cache_key"].as_str())?;
        let turn = self.turns.get(thread)?;
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let n = requests.entry(turn.clone()).or_insert(0);
        *n += 1;
        Some(ExchangeKey { turn, request: *n })
    }
}

/// A running record or replay server. Stops when dropped.
pub struct TapeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl TapeServer {
    /// Listens on `127.0.0.1:0`; `turns` tells which turn runs on which thread.
    pub async fn start(mode: TapeMode, turns: ActiveTurns) -> std::io::Result<TapeServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode,
            turns,
            placeholders: Mutex::default(),
            requests: Mutex::default(),
            log: Mutex::default(),
        });
        let app = Router::new()
            .route("/v1/responses", post(respond))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!(%err, "record/replay server stopped");
            }
        });
        Ok(TapeServer { addr, shared, task })
    }

    /// Record and compare prompts with each `(text, name)` of `placeholders` replaced by its
    /// name, in order: a run's own directory and id become `<run.dir>` and `<run.id>`.
    pub fn set_placeholders(&self, placeholders: Vec<(String, String)>) {
        *self
            .shared
            .placeholders
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = placeholders;
    }

    /// The base URL to give the app-server as its provider's `base_url`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Stops serving and returns what happened.
    pub fn finish(self) -> TapeLog {
        self.task.abort();
        std::mem::take(&mut *self.shared.log())
    }
}

impl Drop for TapeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn respond(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            "weft cannot read this model request (it is not JSON; is it compressed?)".into(),
        );
    };
    let key = shared.attribute(&headers, &json);
    if key.is_none() {
        shared.log().unattributed += 1;
    }
    let mut prompt = wire::last_user_text(&json).unwrap_or_default();
    for (text, name) in shared
        .placeholders
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        if !text.is_empty() {
            prompt = prompt.replace(text.as_str(), name);
        }
    }
    let schema = wire::output_schema(&json).cloned();
    match &shared.mode {
        TapeMode::Record(upstream) => {
            let seen = Seen {
                key,
                prompt,
                schema,
            };
            forward(shared.clone(), upstream, seen, headers, query, body).await
        }
        TapeMode::Replay(replay) => match key {
            Some(key) => answer(&shared, replay, key, prompt, schema),
            None => refuse("weft replay: this model request belongs to no step's turn".into()),
        },
    }
}

/// What weft read from a request: its key and what the cassette checks.
pub(super) struct Seen {
    pub key: Option<ExchangeKey>,
    pub prompt: String,
    pub schema: Option<Value>,
}

/// An HTTP 400 whose text codex shows as the turn's error.
pub(super) fn refuse(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}
