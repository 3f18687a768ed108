//! Notification routing against a scripted server: events before the `turn/start` reply,
//! foreign threads and turns, one turn at a time per thread, and a closed pipe.

mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::scripted::Scripted;
use support::within;
use weft::client::{
    ClientConfig, Error, Thread, ThreadOptions, TurnEvent, TurnOptions, TurnStatus,
};

async fn connect_with_thread(id: &str) -> (Thread, Scripted) {
    let (client, mut server) = Scripted::connect(ClientConfig::default()).await;
    let thread = tokio::spawn(async move { client.thread_start(ThreadOptions::default()).await });
    server.start_thread(id).await;
    (within(thread).await.unwrap().unwrap(), server)
}

fn agent_message(thread: &str, turn: &str, text: &str) -> Value {
    json!({"threadId": thread, "turnId": turn,
           "item": {"type": "agentMessage", "id": format!("m-{text}"), "text": text, "phase": "final_answer"}})
}

fn completed(thread: &str, turn: &str) -> Value {
    json!({"threadId": thread, "turn": {"id": turn, "status": "completed", "items": []}})
}

#[tokio::test]
async fn events_before_the_reply_are_kept_and_foreign_ones_dropped() {
    let (thread, mut server) = connect_with_thread("th").await;
    let turn = tokio::spawn(async move { thread.run("hi", TurnOptions::default()).await });
    let start = server.expect("turn/start").await;
    server
        .notify(
            "turn/started",
            json!({"threadId": "th", "turn": {"id": "tu"}}),
        )
        .await;
    server
        .notify("item/completed", agent_message("th", "tu", "mine"))
        .await;
    server
        .notify(
            "item/completed",
            agent_message("other", "tx", "other thread"),
        )
        .await;
    server
        .notify("item/completed", agent_message("th", "old", "old turn"))
        .await;
    server.accept_turn(&start, "tu").await;
    server
        .notify("turn/completed", completed("other", "tx"))
        .await;
    server
        .notify("item/completed", agent_message("th", "tu", "mine too"))
        .await;
    server.notify("turn/completed", completed("th", "tu")).await;
    let result = within(turn).await.unwrap().unwrap();
    let texts: Vec<&str> = result
        .items
        .iter()
        .filter_map(|i| i.as_agent_message())
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(texts, ["mine", "mine too"]);
    assert_eq!(result.final_response.as_deref(), Some("mine too"));
}

#[tokio::test]
async fn a_second_turn_on_a_thread_waits_for_the_first_to_complete() {
    let (thread, mut server) = connect_with_thread("th").await;
    let first_thread = thread.clone();
    let first = tokio::spawn(async move { first_thread.turn("one", TurnOptions::default()).await });
    server.start_turn("t1").await;
    drop(within(first).await.unwrap().unwrap());
    let second_thread = thread.clone();
    let second =
        tokio::spawn(async move { second_thread.run("two", TurnOptions::default()).await });
    assert_eq!(server.recv_within(Duration::from_millis(300)).await, None);
    server.notify("turn/completed", completed("th", "t1")).await;
    let start = server.expect("turn/start").await;
    assert_eq!(start["params"]["input"][0]["text"], "two");
    server.accept_turn(&start, "t2").await;
    server.notify("turn/completed", completed("th", "t2")).await;
    let result = within(second).await.unwrap().unwrap();
    assert_eq!(
        (result.turn_id.as_str(), result.status),
        ("t2", TurnStatus::Completed)
    );
}

#[tokio::test]
async fn usage_and_errors_stream_and_a_failed_turn_carries_the_server_error() {
    let (thread, mut server) = connect_with_thread("th").await;
    let mut turn = {
        let starting = tokio::spawn(async move { thread.turn("x", TurnOptions::default()).await });
        server.start_turn("tu").await;
        within(starting).await.unwrap().unwrap()
    };
    let usage = json!({"threadId": "th", "turnId": "tu",
        "tokenUsage": {"total": {"totalTokens": 99}, "last": {"totalTokens": 9}}});
    server.notify("thread/tokenUsage/updated", usage).await;
    let event = within(turn.next_event()).await.unwrap();
    assert!(
        matches!(event, TurnEvent::TokenUsage(u) if u.total.total_tokens == 99),
        "{event:?}"
    );
    let error = json!({"message": "bad request", "codexErrorInfo": "badRequest"});
    server
        .notify(
            "error",
            json!({"threadId": "th", "turnId": "tu", "error": error, "willRetry": false}),
        )
        .await;
    let done = json!({"threadId": "th", "turn": {"id": "tu", "status": "failed", "items": [], "error": error}});
    server.notify("turn/completed", done).await;
    let event = within(turn.next_event()).await.unwrap();
    assert!(
        matches!(
            &event,
            TurnEvent::Error {
                will_retry: false,
                ..
            }
        ),
        "{event:?}"
    );
    let failed = within(turn.wait()).await;
    let Err(Error::TurnFailed { turn_id, error }) = failed else {
        panic!("expected a failed turn, got {failed:?}");
    };
    assert_eq!(
        (turn_id.as_str(), error.message.as_str()),
        ("tu", "bad request")
    );
    assert_eq!(error.codex_error_info, Some(json!("badRequest")));
}

#[tokio::test]
async fn a_closed_pipe_fails_open_turns_and_pending_calls() {
    let (thread, mut server) = connect_with_thread("th").await;
    let turning = thread.clone();
    let turn = tokio::spawn(async move { turning.run("x", TurnOptions::default()).await });
    server.start_turn("tu").await;
    let client = thread.client().clone();
    let call = tokio::spawn(async move { client.request("thread/list", json!({})).await });
    server.expect("thread/list").await;
    drop(server);
    let failed = within(turn).await.unwrap();
    assert!(
        matches!(failed, Err(Error::ProcessExited { .. })),
        "{failed:?}"
    );
    let failed = within(call).await.unwrap();
    assert!(
        matches!(failed, Err(Error::ProcessExited { .. })),
        "{failed:?}"
    );
}
