//! Thread lifecycle through the real app-server: resume after a restart, fork, list,
//! read and archive.

mod support;

use pretty_assertions::assert_eq;
use support::{TestEnv, within};
use weft::client::{Error, ThreadListOptions, ThreadOptions, TurnOptions};
use weft::mock::MockReply;

fn echo(request: &weft::mock::MockRequest) -> MockReply {
    let prompt = request.last_user_text().unwrap_or_default();
    MockReply::text(format!("answer to {prompt}"))
}

#[tokio::test]
async fn a_thread_resumes_by_id_after_the_app_server_restarts() {
    let env = TestEnv::start(echo).await;
    let first = env.client().await;
    let thread = within(first.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let id = thread.id().to_owned();
    within(thread.run("remember the word kumquat", TurnOptions::default()))
        .await
        .unwrap();
    within(first.close()).await.unwrap();
    drop((thread, first));

    let second = env.client().await;
    let resumed = within(second.thread_resume(&id, ThreadOptions::default()))
        .await
        .unwrap();
    assert_eq!(resumed.id(), id);
    assert_eq!(resumed.info().turns.len(), 1);
    let result = within(resumed.run("what was the word?", TurnOptions::default()))
        .await
        .unwrap();
    assert_eq!(
        result.final_response.as_deref(),
        Some("answer to what was the word?")
    );
    let last = env.mock.requests().pop().unwrap();
    assert!(
        last.user_texts()
            .contains(&"remember the word kumquat".to_owned())
    );
}

#[tokio::test]
async fn a_fork_carries_the_history_and_then_diverges() {
    let env = TestEnv::start(echo).await;
    let client = env.client().await;
    let parent = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    within(parent.run("shared start", TurnOptions::default()))
        .await
        .unwrap();
    let fork = within(client.thread_fork(parent.id(), ThreadOptions::default()))
        .await
        .unwrap();
    assert_ne!(fork.id(), parent.id());
    assert_eq!(fork.info().forked_from_id.as_deref(), Some(parent.id()));
    within(fork.run("only in the fork", TurnOptions::default()))
        .await
        .unwrap();
    within(parent.run("only in the parent", TurnOptions::default()))
        .await
        .unwrap();
    let requests = env.mock.requests();
    let fork_request = &requests[1];
    assert!(
        fork_request
            .user_texts()
            .contains(&"shared start".to_owned())
    );
    let parent_request = &requests[2];
    assert!(
        !parent_request
            .user_texts()
            .contains(&"only in the fork".to_owned())
    );
}

#[tokio::test]
async fn list_read_and_archive_see_app_server_threads() {
    let env = TestEnv::start(echo).await;
    let client = env.client().await;
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    within(thread.run("list me", TurnOptions::default()))
        .await
        .unwrap();
    let listed = within(client.thread_list(ThreadListOptions::default()))
        .await
        .unwrap();
    let ids: Vec<&str> = listed.data.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, [thread.id()]);
    assert_eq!(listed.data[0].preview, "list me");

    let read = within(client.thread_read(thread.id(), true)).await.unwrap();
    assert_eq!(read.turns.len(), 1);
    assert_eq!(read.turns[0].items.len(), 2);

    within(client.thread_archive(thread.id())).await.unwrap();
    let active = within(client.thread_list(ThreadListOptions::default()))
        .await
        .unwrap();
    assert!(active.data.is_empty(), "{:?}", active.data);
    let archived = ThreadListOptions {
        archived: Some(true),
        ..ThreadListOptions::default()
    };
    let archived = within(client.thread_list(archived)).await.unwrap();
    assert_eq!(archived.data.len(), 1);
}

#[tokio::test]
async fn server_rejections_are_typed() {
    let env = TestEnv::start(echo).await;
    let client = env.client().await;
    let unknown = within(client.request("no/such/method", serde_json::json!({}))).await;
    assert!(
        matches!(unknown, Err(Error::MethodNotFound { .. })),
        "{unknown:?}"
    );
    let bad = within(client.request("thread/read", serde_json::json!({}))).await;
    assert!(matches!(bad, Err(Error::InvalidParams { .. })), "{bad:?}");
    let missing = within(client.thread_resume("not-a-uuid", ThreadOptions::default())).await;
    assert!(
        matches!(missing, Err(Error::InvalidRequest { .. })),
        "{missing:?}"
    );
}

/// The ids of the threads the app-server has loaded (`thread/loaded/list`).
async fn loaded(client: &weft::client::Client) -> Vec<String> {
    let reply = within(client.request("thread/loaded/list", serde_json::json!({})))
        .await
        .unwrap();
    serde_json::from_value(reply["data"].clone()).unwrap()
}

#[tokio::test]
async fn a_released_thread_is_unloaded_and_stays_resumable_listed_and_forkable() {
    let env = TestEnv::start(echo).await;
    let client = env.client().await;
    let kept = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let gone = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    within(gone.run("remember the word kumquat", TurnOptions::default()))
        .await
        .unwrap();
    let mut both = vec![kept.id().to_owned(), gone.id().to_owned()];
    both.sort();
    let mut before = loaded(&client).await;
    before.sort();
    assert_eq!(before, both);

    within(client.thread_release(gone.id())).await.unwrap();
    assert_eq!(loaded(&client).await, vec![kept.id().to_owned()]);
    let listed = within(client.thread_list(ThreadListOptions::default()))
        .await
        .unwrap();
    assert!(
        listed.data.iter().any(|t| t.id == gone.id()),
        "still listed, not archived: {:?}",
        listed.data
    );
    let again = within(client.thread_unsubscribe(gone.id())).await.unwrap();
    assert_eq!(again, weft::client::Unsubscribed::NotLoaded);

    let fork = within(client.thread_fork(gone.id(), ThreadOptions::default()))
        .await
        .unwrap();
    within(fork.run("and in the fork?", TurnOptions::default()))
        .await
        .unwrap();
    let resumed = within(client.thread_resume(gone.id(), ThreadOptions::default()))
        .await
        .unwrap();
    assert_eq!(resumed.info().turns.len(), 1);
    within(resumed.run("what was the word?", TurnOptions::default()))
        .await
        .unwrap();
    for request in env.mock.requests().iter().rev().take(2) {
        assert!(
            request
                .user_texts()
                .contains(&"remember the word kumquat".to_owned()),
            "the history survived the release: {:?}",
            request.user_texts()
        );
    }
}
