//! Record: forward each model request to the real provider with the caller's headers
//! (credentials included), stream the answer back unchanged, and keep a stable copy of
//! it. Headers are never recorded: only the prompt, the output schema and the answer.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::format::{Answer, Exchange, stabilize};
use super::server::{Seen, Shared};
use super::sse::SseCollector;

/// The real provider's base URL (e.g. `https://api.openai.com/v1`) and an HTTP client.
pub struct Upstream {
    pub base_url: String,
    client: reqwest::Client,
}

impl Upstream {
    /// A forwarder to `base_url` (no trailing `/responses`).
    pub fn new(base_url: &str) -> Upstream {
        Upstream {
            base_url: base_url.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
        }
    }
}

/// Headers that belong to one hop, or that the forwarder sets itself.
const HOP_HEADERS: [&str; 7] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "keep-alive",
    "upgrade",
];

pub(super) async fn forward(
    shared: Arc<Shared>,
    upstream: &Upstream,
    seen: Seen,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let mut url = format!("{}/responses", upstream.base_url);
    if let Some(query) = query {
        url = format!("{url}?{query}");
    }
    let mut request = upstream.client.post(&url).body(body);
    for (name, value) in &headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(err) => {
            let message = format!("weft --record could not reach {url}: {err}");
            return (StatusCode::BAD_GATEWAY, message).into_response();
        }
    };
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut back = HeaderMap::new();
    for (name, value) in response.headers() {
        let skip = HOP_HEADERS.contains(&name.as_str()) || name.as_str() == "content-encoding";
        if let (false, Ok(name)) = (skip, HeaderName::from_bytes(name.as_str().as_bytes())) {
            if let Ok(value) = value.to_str() {
                if let Ok(value) = value.parse() {
                    back.insert(name, value);
                }
            }
        }
    }
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let answer = Answer::HttpError {
            status: status.as_u16(),
            body: text.clone(),
        };
        keep(&shared, seen, answer);
        return (status, back, text).into_response();
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
    tokio::spawn(async move {
        let mut collector = SseCollector::default();
        let mut stream = response.bytes_stream();
        while let Some(Ok(chunk)) = stream.next().await {
            collector.push(&chunk);
            if tx.send(Ok(chunk)).await.is_err() {
                break;
            }
        }
        keep(&shared, seen, collector.finish());
    });
    (status, back, Body::from_stream(ReceiverStream::new(rx))).into_response()
}

/// Adds the exchange to the recording (requests of no step's turn are not kept).
fn keep(shared: &Shared, seen: Seen, mut answer: Answer) {
    let Some(key) = seen.key else { return };
    if let Answer::Response { output, .. } = &mut answer {
        stabilize(output, &key);
    }
    shared.log().recorded.push(Exchange {
        step: key.turn.step.clone(),
        index: key.turn.index,
        iteration: key.turn.iteration,
        attempt: key.turn.attempt,
        request: key.request,
        prompt: seen.prompt,
        output_schema: seen.schema,
        answer,
    });
}
