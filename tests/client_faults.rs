//! Faults the real app-server cannot be made to show, against a scripted server over
//! `tokio::io::duplex`: overload and retry, malformed lines, hangs, id collisions,
//! unknown requests, early events and foreign events.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use support::scripted::Scripted;
use support::within;
use weft::client::{
    ClientConfig, Error, RetryPolicy, ServerResponse, ThreadOptions, TurnOptions, handler_fn,
    retry_on_overload,
};

const FAST_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_delay: Duration::from_millis(1),
    max_delay: Duration::from_millis(4),
    jitter: 0.5,
};

#[tokio::test]
async fn overload_is_retried_until_it_succeeds() {
    let (client, mut server) = Scripted::connect(ClientConfig::default()).await;
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = attempts.clone();
    let call = tokio::spawn(retry_on_overload(FAST_RETRY, move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let client = client.clone();
        async move { client.request("thread/list", json!({})).await }
    }));
    for _ in 0..2 {
        let request = server.expect("thread/list").await;
        server
            .reply_error(&request, -32001, "Server overloaded; retry later.")
            .await;
    }
    let request = server.expect("thread/list").await;
    server.reply(&request, json!({"data": []})).await;
    assert_eq!(within(call).await.unwrap().unwrap(), json!({"data": []}));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retry_gives_up_after_max_attempts_and_never_retries_other_errors() {
    let (client, mut server) = Scripted::connect(ClientConfig::default()).await;
    let retrying = client.clone();
    let call = tokio::spawn(retry_on_overload(FAST_RETRY, move || {
        let client = retrying.clone();
        async move { client.request("thread/list", json!({})).await }
    }));
    for _ in 0..3 {
        let request = server.expect("thread/list").await;
        server
            .reply_error(&request, -32001, "Server overloaded; retry later.")
            .await;
    }
    let failed = within(call).await.unwrap();
    assert!(
        matches!(failed, Err(Error::Overloaded { .. })),
        "{failed:?}"
    );

    let call = tokio::spawn(retry_on_overload(FAST_RETRY, move || {
        let client = client.clone();
        async move { client.request("thread/list", json!({})).await }
    }));
    let request = server.expect("thread/list").await;
    server.reply_error(&request, -32099, "something else").await;
    let failed = within(call).await.unwrap();
    assert!(
        matches!(failed, Err(Error::Rpc { code: -32099, .. })),
        "{failed:?}"
    );
    assert_eq!(server.recv_within(Duration::from_millis(100)).await, None);
}

#[tokio::test]
async fn a_line_that_is_not_json_fails_pending_calls_with_a_protocol_error() {
    let (client, mut server) = Scripted::connect(ClientConfig::default()).await;
    let call = tokio::spawn(async move { client.request("thread/list", json!({})).await });
    server.expect("thread/list").await;
    server.send_raw("this is not json").await;
    let failed = within(call).await.unwrap();
    let Err(Error::Protocol { message }) = failed else {
        panic!("expected a protocol error, got {failed:?}");
    };
    assert!(message.contains("this is not json"), "{message}");
}

#[tokio::test]
async fn a_silent_turn_trips_the_watchdog_and_is_interrupted() {
    let config = ClientConfig {
        turn_idle_timeout: Some(Duration::from_millis(200)),
        ..ClientConfig::default()
    };
    let (client, mut server) = Scripted::connect(config).await;
    let thread = tokio::spawn(async move { client.thread_start(ThreadOptions::default()).await });
    server.start_thread("th").await;
    let thread = within(thread).await.unwrap().unwrap();
    let turn = tokio::spawn(async move { thread.run("hang", TurnOptions::default()).await });
    server.start_turn("tu").await;
    let failed = within(turn).await.unwrap();
    let Err(Error::Watchdog { turn_id, idle }) = failed else {
        panic!("expected the watchdog, got {failed:?}");
    };
    assert_eq!((turn_id.as_str(), idle), ("tu", Duration::from_millis(200)));
    let interrupt = server.expect("turn/interrupt").await;
    assert_eq!(
        interrupt["params"],
        json!({"threadId": "th", "turnId": "tu"})
    );
}

#[tokio::test]
async fn a_thread_closed_under_a_running_turn_fails_the_turn_at_once() {
    let (client, mut server) = Scripted::connect(ClientConfig::default()).await;
    let thread = tokio::spawn(async move { client.thread_start(ThreadOptions::default()).await });
    server.start_thread("th").await;
    let thread = within(thread).await.unwrap().unwrap();
    let turn = tokio::spawn(async move { thread.run("work", TurnOptions::default()).await });
    server.start_turn("tu").await;
    server
        .notify("thread/closed", json!({"threadId": "th"}))
        .await;
    let failed = within(turn).await.unwrap();
    let Err(Error::ThreadClosed { thread_id, turn_id }) = failed else {
        panic!("expected the closed thread to fail the turn, got {failed:?}");
    };
    assert_eq!((thread_id.as_str(), turn_id.as_str()), ("th", "tu"));
}

#[tokio::test]
async fn server_request_ids_and_client_ids_do_not_collide() {
    let (client, mut server) = Scripted::connect(ClientConfig::default()).await;
    let call = tokio::spawn(async move { client.request("thread/list", json!({})).await });
    let request = server.expect("thread/list").await;
    let approval = json!({"id": request["id"], "method": "item/commandExecution/requestApproval",
        "params": {"threadId": "th", "turnId": "tu", "itemId": "i", "startedAtMs": 0}});
    server.send(approval).await;
    let answer = server.recv().await;
    assert_eq!(
        answer,
        json!({"id": request["id"], "result": {"decision": "decline"}})
    );
    server.reply(&request, json!({"data": ["mine"]})).await;
    assert_eq!(
        within(call).await.unwrap().unwrap(),
        json!({"data": ["mine"]})
    );
}

#[tokio::test]
async fn unknown_requests_are_refused_at_once_and_a_panicking_handler_declines() {
    let config = ClientConfig {
        request_handler: Arc::new(handler_fn(|request| async move {
            assert_ne!(
                request.method, "item/fileChange/requestApproval",
                "handler bug"
            );
            ServerResponse::Accept
        })),
        ..ClientConfig::default()
    };
    let (_client, mut server) = Scripted::connect(config).await;
    server
        .send(json!({"id": 41, "method": "brand/new/request", "params": {}}))
        .await;
    let refusal = server.recv().await;
    assert_eq!(refusal["id"], 41);
    assert_eq!(refusal["error"]["code"], -32601);
    let params = json!({"threadId": "th", "turnId": "tu", "itemId": "i", "startedAtMs": 0});
    let approval = json!({"id": 42, "method": "item/fileChange/requestApproval", "params": params});
    server.send(approval).await;
    let declined = server.recv().await;
    assert_eq!(
        declined,
        json!({"id": 42, "result": {"decision": "decline"}})
    );
}
