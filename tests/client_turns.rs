//! Turns through the real app-server against the mock model: results, context, schemas,
//! deltas, interrupts and many concurrent threads.

mod support;

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use support::{TestEnv, within};
use weft::client::{ThreadOptions, TurnEvent, TurnOptions, TurnStatus};
use weft::mock::{MOCK_USAGE, MockReply};

#[tokio::test]
async fn a_plain_turn_returns_the_final_response_items_and_usage() {
    let env = TestEnv::start(|_| MockReply::text("hello from the mock")).await;
    let client = env.client().await;
    assert_eq!(client.server_version(), support::codex_version());
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let result = within(thread.run("say hello", TurnOptions::default()))
        .await
        .unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(
        result.final_response.as_deref(),
        Some("hello from the mock")
    );
    let types: Vec<&str> = result.items.iter().map(|i| i.item_type.as_str()).collect();
    assert_eq!(types, ["userMessage", "agentMessage"]);
    let usage = result.usage.expect("usage reported");
    assert_eq!(usage.last.total_tokens, MOCK_USAGE.2 as i64);
    assert_eq!(
        env.mock.requests()[0].last_user_text().as_deref(),
        Some("say hello")
    );
    within(client.close()).await.unwrap();
}

#[tokio::test]
async fn a_thread_keeps_its_context_across_turns() {
    let env = TestEnv::start(|request| {
        let prompt = request.last_user_text().unwrap_or_default();
        MockReply::text(format!("answer to {prompt}"))
    })
    .await;
    let client = env.client().await;
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    within(thread.run("first question", TurnOptions::default()))
        .await
        .unwrap();
    let second = within(thread.run("second question", TurnOptions::default()))
        .await
        .unwrap();
    assert_eq!(
        second.final_response.as_deref(),
        Some("answer to second question")
    );
    let last = env.mock.requests().pop().unwrap();
    let users = last.user_texts();
    assert!(users.contains(&"first question".to_owned()), "{users:?}");
    assert_eq!(users.last().map(String::as_str), Some("second question"));
    assert_eq!(last.assistant_texts(), ["answer to first question"]);
}

#[tokio::test]
async fn the_output_schema_reaches_the_model_for_that_turn_only() {
    let env = TestEnv::start(|request| match request.output_schema() {
        Some(_) => MockReply::Json(json!({"answer": 42})),
        None => MockReply::text("plain"),
    })
    .await;
    let client = env.client().await;
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}},
                        "required": ["answer"], "additionalProperties": false});
    let options = TurnOptions {
        output_schema: Some(schema.clone()),
        ..TurnOptions::default()
    };
    let structured = within(thread.run("structured", options)).await.unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(structured.final_response.as_deref().unwrap()).unwrap();
    assert_eq!(parsed, json!({"answer": 42}));
    let plain = within(thread.run("plain", TurnOptions::default()))
        .await
        .unwrap();
    assert_eq!(plain.final_response.as_deref(), Some("plain"));
    let requests = env.mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].output_schema(), Some(&schema));
    assert_eq!(requests[1].output_schema(), None);
}

#[tokio::test]
async fn deltas_stream_in_order_and_concatenate_to_the_final_text() {
    let text = "the quick brown fox jumps over the lazy dog";
    let env = TestEnv::start(move |_| MockReply::text(text)).await;
    let client = env.client().await;
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let mut turn = within(thread.turn("stream please", TurnOptions::default()))
        .await
        .unwrap();
    let (mut deltas, mut completed, mut last) = (Vec::new(), None, None);
    while let Some(event) = within(turn.next_event()).await {
        last = Some(event.clone());
        match event {
            TurnEvent::AgentMessageDelta { delta, .. } => deltas.push(delta),
            TurnEvent::ItemCompleted(item) if item.as_agent_message().is_some() => {
                completed = Some(item.as_agent_message().unwrap().text.clone());
            }
            _ => {}
        }
    }
    assert_eq!(deltas.len(), 9, "one delta per word: {deltas:?}");
    assert_eq!(deltas.concat(), text);
    assert_eq!(completed.as_deref(), Some(text));
    assert!(matches!(last, Some(TurnEvent::Completed(_))), "{last:?}");
    let result = within(turn.wait()).await.unwrap();
    assert_eq!(result.final_response.as_deref(), Some(text));
}

#[tokio::test]
async fn interrupting_a_slow_turn_ends_it_as_interrupted() {
    let env = TestEnv::start(|request| match request.last_user_text().as_deref() {
        Some("never answered") => MockReply::Stall,
        _ => MockReply::text("answered"),
    })
    .await;
    let client = env.client().await;
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let mut turn = within(thread.turn("never answered", TurnOptions::default()))
        .await
        .unwrap();
    let controller = turn.controller();
    let env_mock = &env.mock;
    support::wait_until(support::LIMIT, || !env_mock.requests().is_empty()).await;
    let waiter = tokio::spawn(async move {
        while turn.next_event().await.is_some() {}
        turn.wait().await
    });
    within(controller.interrupt()).await.unwrap();
    let result = within(waiter).await.unwrap().unwrap();
    assert_eq!(result.status, TurnStatus::Interrupted);
    assert_eq!(result.final_response, None);
    within(controller.interrupt())
        .await
        .expect("interrupting an ended turn is fine");
    let next = within(thread.run("again", TurnOptions::default()))
        .await
        .unwrap();
    assert_eq!(next.final_response.as_deref(), Some("answered"));
    assert_ne!(next.turn_id, result.turn_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_threads_share_one_app_server_and_each_gets_its_own_answer() {
    // Each answer takes the model 300 ms, as a real one would take longer: turns that run
    // at once overlap at the model, turns that ran one by one could not.
    let env = TestEnv::start(|request| {
        let prompt = request.last_user_text().unwrap_or_default();
        let answer = MockReply::text(format!("echo: {prompt}"));
        MockReply::Delayed(Duration::from_millis(300), Box::new(answer))
    })
    .await;
    let client = env.client().await;
    let runs = (0..50).map(|n| {
        let client = client.clone();
        tokio::spawn(async move {
            let thread = client.thread_start(ThreadOptions::default()).await?;
            let result = thread
                .run(format!("prompt {n}"), TurnOptions::default())
                .await?;
            Ok::<_, weft::client::Error>((n, result))
        })
    });
    let runs: Vec<_> = runs.collect();
    for run in runs {
        let (n, result) = within(run).await.unwrap().unwrap();
        assert_eq!(result.final_response, Some(format!("echo: prompt {n}")));
    }
    assert!(env.mock.max_concurrency() > 1, "turns ran one by one");
}
