//! The client's JSON-RPC decoder on a hostile app-server: after the handshake, with a turn
//! open, the server sends generated lines (garbage, truncated and deeply nested JSON,
//! responses to unknown ids, notifications and server requests with odd shapes, foreign
//! turns) and then hangs up. Nothing panics (in any task), and the turn and later calls
//! end, with an error or a result, instead of waiting forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::client::{Client, ClientConfig, ThreadOptions, TurnOptions};

use crate::harness::fuzz;

/// How long a turn may take to end once the server has hung up.
const END_LIMIT: Duration = Duration::from_secs(10);

const METHODS: &[&str] = &[
    "turn/started",
    "turn/completed",
    "item/started",
    "item/completed",
    "item/agentMessage/delta",
    "item/reasoning/textDelta",
    "item/commandExecution/outputDelta",
    "thread/tokenUsage/updated",
    "error",
    "account/login/completed",
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "item/permissions/requestApproval",
    "item/tool/requestUserInput",
    "item/tool/call",
    "mcpServer/elicitation/request",
    "execCommandApproval",
    "applyPatchApproval",
    "no/such/method",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("thr".to_owned()),
            Just("t1".to_owned()),
            any::<String>()
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let keys = prop_oneof![
            prop::sample::select(
                &[
                    "threadId",
                    "turnId",
                    "itemId",
                    "id",
                    "type",
                    "item",
                    "turn",
                    "status",
                    "items",
                    "tokenUsage",
                    "error",
                    "willRetry",
                    "delta",
                    "commandActions",
                    "questions",
                    "loginId",
                    "success",
                    "permissions",
                    "conversationId",
                    "text",
                    "phase",
                ][..]
            )
            .prop_map(str::to_owned),
            "[a-zA-Z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn line() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        Just(None),
        any::<u8>().prop_map(|n| Some(json!(n))),
        Just(Some(json!("x"))),
        Just(Some(json!(1.5))),
        Just(Some(Value::Null)),
    ];
    let message = (
        id,
        prop::sample::select(METHODS),
        json_value(),
        any::<bool>(),
    )
        .prop_map(|(id, method, params, reply)| {
            let mut message = serde_json::Map::new();
            if let Some(id) = id {
                message.insert("id".into(), id);
            }
            if reply {
                message.insert("result".into(), params);
            } else {
                message.insert("method".into(), method.into());
                message.insert("params".into(), params);
            }
            Value::Object(message).to_string()
        });
    prop_oneof![
        6 => message,
        1 => "[^\n]{0,40}",
        1 => (1..400usize).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        1 => Just("{\"id\": 3, \"result\": ".to_owned()),
        1 => Just(json!({"method": "turn/completed", "params": {"threadId": "thr",
                         "turn": {"id": "t1", "status": "completed", "items": []}}}).to_string()),
    ]
}

#[test]
fn jsonrpc_decoder() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let panics = Arc::new(AtomicUsize::new(0));
    let seen = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    fuzz(
        "jsonrpc_decoder",
        6000,
        prop::collection::vec(line(), 0..12),
        |lines| {
            let before = panics.load(Ordering::SeqCst);
            let ended = runtime.block_on(session(lines));
            prop_assert!(
                ended,
                "the turn or a later call did not end after the server hung up"
            );
            prop_assert_eq!(panics.load(Ordering::SeqCst), before, "a task panicked");
            Ok(())
        },
    );
}

/// One session against the hostile server; whether everything ended.
async fn session(lines: Vec<String>) -> bool {
    let (client_end, server_end) = tokio::io::duplex(1 << 16);
    let (client_read, client_write) = tokio::io::split(client_end);
    let (server_read, mut server_write) = tokio::io::split(server_end);
    let server = tokio::spawn(async move {
        let mut incoming = BufReader::new(server_read).lines();
        let init = incoming
            .next_line()
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let id = serde_json::from_str::<Value>(&init)
            .map(|m| m["id"].clone())
            .unwrap_or_default();
        let reply = json!({"id": id, "result": {"userAgent": "fuzz/0.0.1 (x)"}});
        let _ = server_write
            .write_all(format!("{reply}\n").as_bytes())
            .await;
        let mut answered = 0;
        while let Ok(Some(line)) = incoming.next_line().await {
            let message: Value = serde_json::from_str(&line).unwrap_or_default();
            let result = match message["method"].as_str() {
                Some("thread/start") => json!({"thread": {"id": "thr"}}),
                Some("turn/start") => json!({"turn": {"id": "t1"}}),
                _ => continue,
            };
            let reply = json!({"id": message["id"], "result": result});
            let _ = server_write
                .write_all(format!("{reply}\n").as_bytes())
                .await;
            answered += 1;
            if answered == 2 {
                break;
            }
        }
        for line in lines {
            let _ = server_write.write_all(format!("{line}\n").as_bytes()).await;
        }
        let _ = server_write.shutdown().await;
        while let Ok(Some(_)) = incoming.next_line().await {}
    });
    let config = ClientConfig {
        request_timeout: Some(END_LIMIT),
        ..ClientConfig::default()
    };
    let drive = async {
        let client = Client::connect(client_read, client_write, config)
            .await
            .ok()?;
        let thread = client.thread_start(ThreadOptions::default()).await.ok()?;
        let turn = thread.turn("fuzz", TurnOptions::default()).await.ok()?;
        let _ = turn.wait().await;
        let _ = client.thread_list(Default::default()).await;
        Some(())
    };
    let ended = tokio::time::timeout(END_LIMIT * 2, drive).await.is_ok();
    server.abort();
    ended
}
