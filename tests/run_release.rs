//! Threads a run no longer needs are released through the real app-server: after a
//! fan-out, a fork and a named thread's last step, only the thread a `resume:` step
//! continues is still loaded, and what was released kept its history for the fork.

mod support;

use std::sync::Arc;

use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};
use support::{TestEnv, codex_bin, within};
use weft::engine::event::Status;
use weft::engine::{self, CodexAgent, CodexConfig, RunOptions};
use weft::mock::{MockReply, MockRequest};

const WORKFLOW: &str = r#"
name: release
threads:
  planner: { developer_instructions: Plan only. }
steps:
  list:
    thread: planner
    prompt: LIST the files
    output_schema:
      type: object
      required: [files]
      properties: { files: { type: array, items: { type: string } } }
  each:
    for_each: steps.list.output.files
    prompt: EACH {{ item }}
  branch:
    fork: planner
    needs: [each]
    prompt: BRANCH off the plan
  last:
    thread: planner
    needs: [branch]
    prompt: LAST word
  keep:
    prompt: KEEP this in mind
  again:
    resume: "{{ steps.keep.thread_id }}"
    prompt: AGAIN what was it?
"#;

fn model(request: &MockRequest) -> MockReply {
    let text = request.last_user_text().unwrap_or_default();
    if text.starts_with("LIST") {
        let files: Vec<String> = (0..8).map(|i| format!("f{i}.rs")).collect();
        MockReply::Json(json!({ "files": files }))
    } else {
        MockReply::text(format!("did {text}"))
    }
}

async fn loaded(agent: &CodexAgent) -> Vec<String> {
    let reply = within(agent.client().request("thread/loaded/list", json!({})))
        .await
        .unwrap();
    serde_json::from_value(reply["data"].clone()).unwrap()
}

#[tokio::test]
async fn only_the_thread_a_later_step_resumes_stays_loaded() {
    let env = TestEnv::start(model).await;
    let path = env.work().join("release.yaml");
    std::fs::write(&path, WORKFLOW).unwrap();
    let (workflow, plan) = weft::plan::load(&path).unwrap();
    let options = RunOptions {
        jobs: 3,
        workdir: env.work(),
        ..RunOptions::default()
    };
    let spec = engine::run_spec(&workflow, &plan, Map::new(), &options);
    let config = CodexConfig {
        codex_bin: Some(codex_bin()),
        codex_home: Some(env.codex_home()),
        env: vec![("TMPDIR".into(), env.tmp().display().to_string())],
        ..CodexConfig::default()
    };
    let agent = Arc::new(within(CodexAgent::start(config)).await.unwrap());
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let mut sink = |_: &engine::event::RunEvent| {};
    let report = within(engine::execute(agent.clone(), spec, cancelled, &mut sink)).await;
    assert_eq!(report.status, Status::Succeeded, "{:?}", report.steps);
    let thread = |id: &str| -> Value {
        let step = report.steps.iter().find(|s| s.id == id).unwrap();
        json!(step.thread_id)
    };
    assert_eq!(thread("again"), thread("keep"));
    let loaded = loaded(&agent).await;
    assert_eq!(json!(loaded), json!([thread("keep")]));

    let requests = env.mock.requests();
    let find = |prefix: &str| {
        requests
            .iter()
            .find(|r| r.last_user_text().unwrap_or_default().starts_with(prefix))
            .unwrap()
            .clone()
    };
    assert!(
        find("BRANCH")
            .user_texts()
            .contains(&"LIST the files".into())
    );
    assert!(find("LAST").user_texts().contains(&"LIST the files".into()));
    assert!(
        find("AGAIN")
            .user_texts()
            .contains(&"KEEP this in mind".into())
    );
    within(agent.close()).await;
}

#[tokio::test]
async fn a_named_thread_left_archived_by_a_cut_release_is_unarchived_to_continue() {
    let env = TestEnv::start(model).await;
    let path = env.work().join("one.yaml");
    let text =
        "threads:\n  planner: {}\nsteps:\n  next:\n    thread: planner\n    prompt: NEXT step\n";
    std::fs::write(&path, text).unwrap();
    let (workflow, plan) = weft::plan::load(&path).unwrap();
    let options = RunOptions {
        workdir: env.work(),
        ..RunOptions::default()
    };
    let spec = engine::run_spec(&workflow, &plan, Map::new(), &options);
    let config = CodexConfig {
        codex_bin: Some(codex_bin()),
        codex_home: Some(env.codex_home()),
        env: vec![("TMPDIR".into(), env.tmp().display().to_string())],
        ..CodexConfig::default()
    };
    let agent = Arc::new(within(CodexAgent::start(config)).await.unwrap());
    let client = agent.client();
    let earlier = within(client.thread_start(Default::default()))
        .await
        .unwrap();
    within(earlier.run("FIRST remember this", Default::default()))
        .await
        .unwrap();
    within(client.thread_archive(earlier.id())).await.unwrap();
    let seed = engine::Seed {
        threads: vec![("planner".into(), earlier.id().to_owned())],
        ..Default::default()
    };
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let mut sink = |_: &engine::event::RunEvent| {};
    let run = engine::execute_seeded(agent.clone(), spec, seed, cancelled, &mut sink);
    let report = within(run).await;
    assert_eq!(report.status, Status::Succeeded, "{:?}", report.steps);
    assert_eq!(report.steps[0].thread_id.as_deref(), Some(earlier.id()));
    let last = env.mock.requests().pop().unwrap();
    assert!(last.user_texts().contains(&"FIRST remember this".into()));
    within(agent.close()).await;
}

#[tokio::test]
async fn the_most_recent_released_threads_stay_loaded_up_to_the_limit() {
    let env = TestEnv::start(model).await;
    let path = env.work().join("many.yaml");
    let text = "steps:\n  each:\n    for_each: \"[1, 2, 3, 4, 5, 6, 7, 8]\"\n    prompt: EACH {{ item }}\n";
    std::fs::write(&path, text).unwrap();
    let (workflow, plan) = weft::plan::load(&path).unwrap();
    let options = RunOptions {
        jobs: 2,
        workdir: env.work(),
        ..RunOptions::default()
    };
    let spec = engine::run_spec(&workflow, &plan, Map::new(), &options);
    let config = CodexConfig {
        codex_bin: Some(codex_bin()),
        codex_home: Some(env.codex_home()),
        env: vec![("TMPDIR".into(), env.tmp().display().to_string())],
        idle_threads: 3,
        ..CodexConfig::default()
    };
    let agent = Arc::new(within(CodexAgent::start(config)).await.unwrap());
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let mut sink = |_: &engine::event::RunEvent| {};
    let report = within(engine::execute(agent.clone(), spec, cancelled, &mut sink)).await;
    assert_eq!(report.status, Status::Succeeded, "{:?}", report.steps);
    assert_eq!(
        loaded(&agent).await.len(),
        3,
        "8 elements, the last 3 kept loaded"
    );
    within(agent.close()).await;
}
