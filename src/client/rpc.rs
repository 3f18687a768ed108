//! One JSON-RPC connection over any pipe pair: a reader task, a writer task, the table of
//! pending calls, notification routing to turns, and dispatch of server requests.
//!
//! ```text
//!  callers ──request()──▶ pending[id] ──line──▶ writer task ──▶ app-server stdin
//!  app-server stdout ──▶ reader task ──┬─ response      ─▶ pending[id].send(result)
//!                                      ├─ notification  ─▶ routes[threadId] (one turn each)
//!                                      │                   or, without a thread, broadcast
//!                                      └─ server request ─▶ handler task ─▶ writer task
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot};

use super::error::{CloseReason, Error, Result};
use super::items::ThreadItem;
use super::requests::{BoxFuture, ServerRequest, ServerRequestHandler, ServerResponse};

/// Longest excerpt of a bad line quoted in a protocol error.
const QUOTE_LIMIT: usize = 200;
/// How many notifications without a thread (`account/*`, ...) a slow subscriber may lag.
const BROADCAST_CAPACITY: usize = 1024;

/// What a turn's route receives; also what subscribers to notifications that concern no
/// thread (`account/login/completed`, ...) receive.
#[derive(Debug, Clone)]
pub(crate) enum Routed {
    Notification { method: String, params: Value },
    Closed(CloseReason),
}

/// A cheap handle on the connection; every clone talks to the same tasks.
#[derive(Clone)]
pub(crate) struct Connection {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    writer: mpsc::UnboundedSender<Outgoing>,
    handler: Arc<dyn ServerRequestHandler>,
    request_timeout: Option<Duration>,
    broadcast: broadcast::Sender<Routed>,
}

enum Outgoing {
    Line(String),
    Close,
}

#[derive(Default)]
struct State {
    next_id: u64,
    pending: HashMap<u64, Pending>,
    routes: HashMap<String, Route>,
    closed: Option<CloseReason>,
}

struct Pending {
    reply: oneshot::Sender<Result<Value>>,
    turn_start_for: Option<String>,
}

/// The one turn of a thread this client drives; holds the thread's turn slot until done.
struct Route {
    events: mpsc::UnboundedSender<Routed>,
    turn_id: Option<String>,
    items: HashMap<String, Value>,
    _slot: OwnedSemaphorePermit,
}

/// Builds the reason the connection ended once the reader hits end of file.
pub(crate) type EofReason = BoxFuture<'static, CloseReason>;

impl Connection {
    /// Start the reader and writer tasks over `reader`/`writer`.
    pub fn start<R, W>(
        reader: R,
        writer: W,
        handler: Arc<dyn ServerRequestHandler>,
        request_timeout: Option<Duration>,
        on_eof: EofReason,
    ) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            writer: tx,
            handler,
            request_timeout,
            broadcast: broadcast::channel(BROADCAST_CAPACITY).0,
        });
        tokio::spawn(write_loop(writer, rx));
        tokio::spawn(read_loop(shared.clone(), reader, on_eof));
        Connection { shared }
    }

    /// Call `method` and wait for its result.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        self.call(method, params, None).await
    }

    /// Call `turn/start`; the reader learns the turn id from the reply before anyone else.
    pub async fn turn_start(&self, thread_id: &str, params: Value) -> Result<Value> {
        self.call("turn/start", params, Some(thread_id.to_owned()))
            .await
    }

    /// Every notification that concerns no thread, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Routed> {
        self.shared.broadcast.subscribe()
    }

    /// Send a notification.
    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<()> {
        let mut message = json!({ "method": method });
        if let Some(params) = params {
            message["params"] = params;
        }
        self.send(message)
    }

    /// Route the thread's turn events to a new receiver, holding `slot` until the turn ends.
    pub fn open_route(
        &self,
        thread_id: &str,
        slot: OwnedSemaphorePermit,
    ) -> Result<mpsc::UnboundedReceiver<Routed>> {
        let mut state = self.shared.lock();
        if let Some(reason) = &state.closed {
            return Err(reason.clone().into());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let route = Route {
            events: tx,
            turn_id: None,
            items: HashMap::new(),
            _slot: slot,
        };
        state.routes.insert(thread_id.to_owned(), route);
        Ok(rx)
    }

    /// Stop routing the thread's turn (all of it when `turn_id` is `None`), freeing its slot.
    pub fn close_route(&self, thread_id: &str, turn_id: Option<&str>) {
        let mut state = self.shared.lock();
        let matches = state
            .routes
            .get(thread_id)
            .is_some_and(|route| turn_id.is_none() || route.turn_id.as_deref() == turn_id);
        if matches {
            state.routes.remove(thread_id);
        }
    }

    /// Fail every pending call and open turn with `reason`, and close the write side.
    pub fn shutdown(&self, reason: CloseReason) {
        self.shared.fail_all(reason);
    }

    /// Why the connection ended, if it did.
    pub fn closed(&self) -> Option<CloseReason> {
        self.shared.lock().closed.clone()
    }

    async fn call(
        &self,
        method: &str,
        params: Value,
        turn_start_for: Option<String>,
    ) -> Result<Value> {
        let (reply, rx) = oneshot::channel();
        let id = {
            let mut state = self.shared.lock();
            if let Some(reason) = &state.closed {
                return Err(reason.clone().into());
            }
            let id = state.next_id;
            state.next_id += 1;
            let pending = Pending {
                reply,
                turn_start_for,
            };
            state.pending.insert(id, pending);
            id
        };
        self.send(json!({ "id": id, "method": method, "params": params }))?;
        let wait = async {
            match rx.await {
                Ok(result) => result,
                Err(_) => Err(self.close_error()),
            }
        };
        let Some(limit) = self.shared.request_timeout else {
            return wait.await;
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(result) => result,
            Err(_) => {
                self.shared.lock().pending.remove(&id);
                Err(Error::RequestTimeout {
                    method: method.to_owned(),
                    after: limit,
                })
            }
        }
    }

    fn send(&self, message: Value) -> Result<()> {
        self.shared.send(message).map_err(|()| self.close_error())
    }

    fn close_error(&self) -> Error {
        self.closed().unwrap_or(CloseReason::Closed).into()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, message: Value) -> std::result::Result<(), ()> {
        let line = Outgoing::Line(message.to_string());
        self.writer.send(line).map_err(|_| ())
    }

    fn fail_all(&self, reason: CloseReason) {
        let (pending, routes) = {
            let mut state = self.lock();
            state.closed.get_or_insert(reason.clone());
            (
                std::mem::take(&mut state.pending),
                std::mem::take(&mut state.routes),
            )
        };
        for (_, call) in pending {
            let _ = call.reply.send(Err(reason.clone().into()));
        }
        for (_, route) in routes {
            let _ = route.events.send(Routed::Closed(reason.clone()));
        }
        let _ = self.broadcast.send(Routed::Closed(reason));
        let _ = self.writer.send(Outgoing::Close);
    }

    fn dispatch(self: &Arc<Self>, message: Value) -> std::result::Result<(), CloseReason> {
        let Value::Object(mut message) = message else {
            return Err(CloseReason::Protocol(
                "a message is not a JSON object".into(),
            ));
        };
        let id = message.remove("id");
        let method = message.remove("method");
        let params = message.remove("params").unwrap_or(Value::Null);
        match (id, method) {
            (Some(id), Some(Value::String(method))) => self.on_server_request(id, method, params),
            (None, Some(Value::String(method))) => self.on_notification(method, params),
            (Some(id), None) => self.on_response(&id, message),
            _ => {
                let text = Value::Object(message).to_string();
                return Err(CloseReason::Protocol(format!(
                    "unexpected message {}",
                    quote(&text)
                )));
            }
        }
        Ok(())
    }

    fn on_response(&self, id: &Value, mut message: Map<String, Value>) {
        let Some(call) = id.as_u64().and_then(|id| self.lock().pending.remove(&id)) else {
            tracing::debug!(%id, "response to an unknown request id");
            return;
        };
        let result = match (message.remove("result"), message.remove("error")) {
            (_, Some(error)) => Err(rpc_error(error)),
            (Some(result), None) => Ok(result),
            (None, None) => Err(Error::Protocol {
                message: "a response has neither result nor error".into(),
            }),
        };
        if let (Some(thread_id), Ok(result)) = (&call.turn_start_for, &result) {
            let turn_id = result["turn"]["id"].as_str().map(str::to_owned);
            if let Some(route) = self.lock().routes.get_mut(thread_id) {
                route.turn_id = turn_id;
            }
        }
        let _ = call.reply.send(result);
    }

    fn on_notification(&self, method: String, params: Value) {
        let Some(thread_id) = params["threadId"].as_str().map(str::to_owned) else {
            let _ = self.broadcast.send(Routed::Notification { method, params });
            return;
        };
        let turn_id = turn_id_of(&params).map(str::to_owned);
        let mut state = self.lock();
        let Some(route) = state.routes.get_mut(&thread_id) else {
            return;
        };
        let mine = match (&route.turn_id, &turn_id) {
            (Some(route_turn), Some(turn)) => route_turn == turn,
            _ => true,
        };
        if !mine {
            return;
        }
        if method == "item/started" || method == "item/completed" {
            if let Some(item_id) = params["item"]["id"].as_str() {
                route
                    .items
                    .insert(item_id.to_owned(), params["item"].clone());
            }
        }
        let ends = method == "turn/completed" && route.turn_id.is_some();
        let _ = route.events.send(Routed::Notification { method, params });
        if ends {
            state.routes.remove(&thread_id);
        }
    }

    fn on_server_request(self: &Arc<Self>, id: Value, method: String, params: Value) {
        let item = {
            let state = self.lock();
            let route = params["threadId"]
                .as_str()
                .and_then(|t| state.routes.get(t));
            let item_id = params["itemId"].as_str();
            route
                .zip(item_id)
                .and_then(|(route, item_id)| route.items.get(item_id).cloned())
                .map(ThreadItem::from_value)
        };
        let request = ServerRequest::new(id, method, params, item);
        tokio::spawn(answer(self.clone(), request));
    }
}

/// Ask the handler (in its own task, so a panic becomes a refusal) and send the reply.
async fn answer(shared: Arc<Shared>, request: ServerRequest) {
    let handler = shared.handler.clone();
    let asked = request.clone();
    let decided = tokio::spawn(async move { handler.handle(asked).await }).await;
    let response = decided.unwrap_or(ServerResponse::Decline);
    let reply = match request.reply(response) {
        Ok(result) => json!({ "id": request.id, "result": result }),
        Err((code, message)) => {
            json!({ "id": request.id, "error": { "code": code, "message": message } })
        }
    };
    let _ = shared.send(reply);
}

/// The turn a notification belongs to: `turnId`, or `turn.id` on `turn/started`/`turn/completed`.
pub(crate) fn turn_id_of(params: &Value) -> Option<&str> {
    params["turnId"]
        .as_str()
        .or_else(|| params["turn"]["id"].as_str())
}

fn rpc_error(error: Value) -> Error {
    let code = error["code"].as_i64().unwrap_or_default();
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    let data = error.get("data").cloned().filter(|d| !d.is_null());
    Error::from_rpc(code, message, data)
}

fn quote(text: &str) -> String {
    let mut end = text.len().min(QUOTE_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < text.len() { "…" } else { "" };
    format!("`{}{more}`", &text[..end])
}

async fn read_loop<R: AsyncRead + Unpin>(shared: Arc<Shared>, reader: R, on_eof: EofReason) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let reason = loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break on_eof.await,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let dispatched = match serde_json::from_str::<Value>(&text) {
            Ok(message) => shared.dispatch(message),
            Err(err) => Err(CloseReason::Protocol(format!(
                "a line is not JSON ({err}): {}",
                quote(text.trim_end())
            ))),
        };
        if let Err(reason) = dispatched {
            break reason;
        }
    };
    shared.fail_all(reason);
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut lines: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some(Outgoing::Line(mut line)) = lines.recv().await {
        line.push('\n');
        if writer.write_all(line.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            break;
        }
    }
    let _ = writer.shutdown().await;
}
