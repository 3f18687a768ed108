//! A scripted app-server for faults the real one cannot be made to show: the test plays
//! the server's side of the JSON lines over `tokio::io::duplex`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};
use weft::client::{Client, ClientConfig};

use super::within;

/// The server's end of a duplex connection to a [`Client`].
pub struct Scripted {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    writer: WriteHalf<DuplexStream>,
}

impl Scripted {
    /// Connect a client with `config` and play the handshake (`userAgent` `scripted/1.2.3`).
    pub async fn connect(config: ClientConfig) -> (Client, Scripted) {
        let (client_end, server_end) = tokio::io::duplex(1 << 20);
        let (client_read, client_write) = tokio::io::split(client_end);
        let (server_read, writer) = tokio::io::split(server_end);
        let mut server = Scripted {
            lines: BufReader::new(server_read).lines(),
            writer,
        };
        let connecting = tokio::spawn(Client::connect(client_read, client_write, config));
        let init = server.recv().await;
        assert_eq!(init["method"], "initialize");
        server
            .reply(
                &init,
                json!({"userAgent": "scripted/1.2.3 (test)", "codexHome": "/nowhere"}),
            )
            .await;
        let initialized = server.recv().await;
        assert_eq!(initialized["method"], "initialized");
        let client = within(connecting).await.unwrap().expect("handshake");
        (client, server)
    }

    /// The next message from the client.
    pub async fn recv(&mut self) -> Value {
        let line = within(self.lines.next_line())
            .await
            .unwrap()
            .expect("client hung up");
        serde_json::from_str(&line).expect("client sent JSON")
    }

    /// The next message, or `None` if none comes within `window`.
    pub async fn recv_within(&mut self, window: Duration) -> Option<Value> {
        let line = tokio::time::timeout(window, self.lines.next_line())
            .await
            .ok()?;
        Some(serde_json::from_str(&line.unwrap()?).expect("client sent JSON"))
    }

    /// The next message, which must be a request for `method`.
    pub async fn expect(&mut self, method: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["method"], method, "unexpected message {message}");
        message
    }

    /// Send `message` as one line.
    pub async fn send(&mut self, message: Value) {
        self.send_raw(&message.to_string()).await;
    }

    /// Send `line` as is (plus a newline).
    pub async fn send_raw(&mut self, line: &str) {
        let bytes = format!("{line}\n");
        within(self.writer.write_all(bytes.as_bytes()))
            .await
            .unwrap();
    }

    /// Answer `request` with `result`.
    pub async fn reply(&mut self, request: &Value, result: Value) {
        self.send(json!({"id": request["id"], "result": result}))
            .await;
    }

    /// Answer `request` with a JSON-RPC error.
    pub async fn reply_error(&mut self, request: &Value, code: i64, message: &str) {
        let error = json!({"code": code, "message": message});
        self.send(json!({"id": request["id"], "error": error}))
            .await;
    }

    /// Answer a `thread/start` with thread `id`.
    pub async fn start_thread(&mut self, id: &str) {
        let request = self.expect("thread/start").await;
        self.reply(&request, json!({"thread": {"id": id}})).await;
    }

    /// Answer the `turn/start` `request` with an in-progress turn `id`.
    pub async fn accept_turn(&mut self, request: &Value, id: &str) {
        let turn = json!({"turn": {"id": id, "status": "inProgress", "items": []}});
        self.reply(request, turn).await;
    }

    /// Expect a `turn/start` and answer it with an in-progress turn `id`; the request.
    pub async fn start_turn(&mut self, id: &str) -> Value {
        let request = self.expect("turn/start").await;
        self.accept_turn(&request, id).await;
        request
    }

    /// Send a turn notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"method": method, "params": params})).await;
    }
}
