//! A step's policies reach the agent: its model and reasoning effort are in the model
//! requests its turns make, and its sandbox decides what its commands may write.

mod support;

use pretty_assertions::assert_eq;
use support::TestEnv;
use support::cli::{json_stdout, weft, write};
use weft::mock::{MockReply, MockRequest};

const POLICIES: &str = r#"
defaults: { model: model-default, effort: medium }
threads:
  planner: { model: model-thread, effort: high }
steps:
  plain:
    prompt: PLAIN
  tuned:
    model: model-step
    effort: low
    prompt: TUNED
  planned:
    thread: planner
    prompt: PLANNED
  writer:
    sandbox: workspace-write
    prompt: WRITE written-by-writer.txt
  reader:
    sandbox: read-only
    prompt: WRITE written-by-reader.txt
"#;

/// Plain text, except `WRITE FILE`: a command that writes FILE in the working directory.
fn model(request: &MockRequest) -> MockReply {
    let prompt = request.last_user_text().unwrap_or_default();
    match prompt.strip_prefix("WRITE ") {
        Some(file) if !request.is_after_tool_call() => {
            MockReply::command(format!("echo written > {file}"))
        }
        _ => MockReply::text("done"),
    }
}

/// The first request of the turn whose prompt is `prompt`.
fn request<'a>(requests: &'a [MockRequest], prompt: &str) -> &'a MockRequest {
    requests
        .iter()
        .find(|r| r.last_user_text().as_deref() == Some(prompt))
        .unwrap_or_else(|| panic!("no request for `{prompt}`"))
}

#[tokio::test]
async fn each_steps_model_effort_and_sandbox_reach_the_agent() {
    let env = TestEnv::start(model).await;
    let file = write(&env.work(), "policies.yaml", POLICIES);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");

    let requests = env.mock.requests();
    let sent = |prompt: &str| {
        let body = &request(&requests, prompt).body;
        (body["model"].clone(), body["reasoning"]["effort"].clone())
    };
    assert_eq!(sent("PLAIN"), ("model-default".into(), "medium".into()));
    assert_eq!(sent("TUNED"), ("model-step".into(), "low".into()));
    assert_eq!(sent("PLANNED"), ("model-thread".into(), "high".into()));

    let output = |prompt: &str| {
        let after = requests
            .iter()
            .find(|r| r.is_after_tool_call() && r.user_texts().iter().any(|t| t == prompt));
        let after = after.unwrap_or_else(|| panic!("`{prompt}` ran no command"));
        after.function_call_outputs().join("\n")
    };
    let writer = output("WRITE written-by-writer.txt");
    assert!(writer.contains("Process exited with code 0"), "{writer}");
    let reader = output("WRITE written-by-reader.txt");
    assert!(reader.contains("Read-only file system"), "{reader}");
    assert_eq!(
        std::fs::read_to_string(env.work().join("written-by-writer.txt"))
            .ok()
            .as_deref(),
        Some("written\n"),
        "workspace-write lets the command write in the working directory"
    );
    assert!(
        !env.work().join("written-by-reader.txt").exists(),
        "read-only keeps the same command from writing"
    );
}
