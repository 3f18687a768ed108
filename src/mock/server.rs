//! The mock model's HTTP server: `POST /v1/responses` on 127.0.0.1, answered by a script.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use super::reply::{MockReply, events, stall_events};
use super::request::MockRequest;
use crate::cassette::wire::frame;

type Script = dyn Fn(&MockRequest) -> MockReply + Send + Sync;

/// A running mock model. Stops when dropped.
pub struct MockModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

struct Shared {
    script: Box<Script>,
    log: Mutex<Vec<MockRequest>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl std::fmt::Debug for MockModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockModel")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockModel {
    /// Listen on `127.0.0.1:0`; every request is logged, then answered with `script(request)`.
    /// Decide from the request (its last user text, markers in the prompt, whether it follows
    /// a tool call), not from its position: codex may send extra requests.
    pub async fn start(
        script: impl Fn(&MockRequest) -> MockReply + Send + Sync + 'static,
    ) -> std::io::Result<MockModel> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            script: Box::new(script),
            log: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/responses", post(respond))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!(%err, "mock model server stopped");
            }
        });
        Ok(MockModel {
            addr,
            shared,
            server,
        })
    }

    /// The base URL for a model provider, e.g. `http://127.0.0.1:41234/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<MockRequest> {
        self.shared.lock_log().clone()
    }

    /// The most requests that were being answered at the same time.
    pub fn max_concurrency(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }
}

impl Drop for MockModel {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shared {
    fn lock_log(&self) -> std::sync::MutexGuard<'_, Vec<MockRequest>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a request as in flight while alive.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> InFlight {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn respond(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let guard = InFlight::new(shared.clone());
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let request = {
        let mut log = shared.lock_log();
        let request = MockRequest {
            index: log.len(),
            body,
            headers,
        };
        log.push(request.clone());
        request
    };
    let mut reply = (shared.script)(&request);
    while let MockReply::Delayed(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        MockReply::Error { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(body)).into_response()
        }
        MockReply::Stall => stalled(request.index, guard),
        reply => {
            let text: String = events(&reply, request.index).iter().map(frame).collect();
            sse(Body::from(text))
        }
    }
}

/// A stream that sends its first event and then nothing, until codex hangs up.
fn stalled(n: usize, guard: InFlight) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(4);
    tokio::spawn(async move {
        for event in stall_events(n) {
            let _ = tx.send(Ok(Bytes::from(frame(&event)))).await;
        }
        tx.closed().await;
        drop(guard);
    });
    sse(Body::from_stream(ReceiverStream::new(rx)))
}

fn sse(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}
