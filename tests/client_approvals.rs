//! Server requests through the real app-server: a command approval answered both ways.

mod support;

use std::sync::{Arc, Mutex};

use pretty_assertions::assert_eq;
use support::{TestEnv, within};
use weft::client::{
    ApprovalPolicy, Client, SandboxMode, ServerRequest, ServerRequestKind, ServerResponse,
    ThreadOptions, TurnOptions, TurnResult, handler_fn,
};
use weft::mock::MockReply;

const COMMAND: &str = "echo approved > marker.txt";

/// A mock model that asks to run [`COMMAND`] with escalation, then says "done".
async fn command_env() -> TestEnv {
    TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::text("done")
        } else {
            MockReply::Command {
                cmd: COMMAND.into(),
                escalated: true,
            }
        }
    })
    .await
}

/// Run the marker turn on an on-request, workspace-write thread.
async fn run_marker_turn(client: &Client, env: &TestEnv) -> TurnResult {
    let options = ThreadOptions {
        approval_policy: Some(ApprovalPolicy::OnRequest),
        sandbox: Some(SandboxMode::WorkspaceWrite),
        cwd: Some(env.work()),
        ..ThreadOptions::default()
    };
    let thread = within(client.thread_start(options)).await.unwrap();
    within(thread.run("make a marker", TurnOptions::default()))
        .await
        .unwrap()
}

/// Run the marker turn with a handler that logs each request and answers `decision`.
async fn run_with(decision: ServerResponse) -> (TestEnv, Vec<ServerRequest>, TurnResult) {
    let env = command_env().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut config = env.config();
    config.request_handler = Arc::new(handler_fn(move |request| {
        log.lock().unwrap().push(request);
        let decision = decision.clone();
        async move { decision }
    }));
    let client = within(Client::spawn(config)).await.unwrap();
    let result = run_marker_turn(&client, &env).await;
    let seen = seen.lock().unwrap().clone();
    (env, seen, result)
}

fn command_status(result: &TurnResult) -> Vec<String> {
    let commands = result.items.iter().filter_map(|i| i.as_command());
    commands.map(|c| c.status.clone()).collect()
}

#[tokio::test]
async fn an_accepted_command_runs() {
    let (env, seen, result) = run_with(ServerResponse::Accept).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let ServerRequestKind::CommandApproval { command, cwd, .. } = &seen[0].kind else {
        panic!("not a command approval: {:?}", seen[0]);
    };
    assert!(
        command.as_deref().unwrap_or_default().contains(COMMAND),
        "{command:?}"
    );
    assert_eq!(cwd.as_deref(), Some(env.work().as_path()));
    assert_eq!(seen[0].turn_id.as_deref(), Some(result.turn_id.as_str()));
    assert_eq!(command_status(&result), ["completed"]);
    let marker = std::fs::read_to_string(env.work().join("marker.txt")).unwrap();
    assert_eq!(marker, "approved\n");
    assert_eq!(result.final_response.as_deref(), Some("done"));
}

#[tokio::test]
async fn a_declined_command_does_not_run() {
    let (env, seen, result) = run_with(ServerResponse::Decline).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(command_status(&result), ["declined"]);
    assert!(!env.work().join("marker.txt").exists());
    assert_eq!(result.final_response.as_deref(), Some("done"));
}

#[tokio::test]
async fn the_default_handler_declines() {
    let env = command_env().await;
    let client = env.client().await;
    let result = run_marker_turn(&client, &env).await;
    assert_eq!(command_status(&result), ["declined"]);
    assert!(!env.work().join("marker.txt").exists());
}
