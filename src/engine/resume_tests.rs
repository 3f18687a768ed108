//! Engine tests of element-level resume over the in-process fake agent: a fan-out that
//! runs again keeps the elements an earlier session finished with the same item, runs
//! only the others, and its output is every element's, in order.

use std::sync::Arc;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::event::{RunEvent, Status};
use super::fake::{FakeAgent, FakeTurn};
use super::spec::{RunSpec, StepSpec};
use super::{RunReport, Seed, SeedElement, StepRecord, execute_seeded};

fn fan_out(list: &str) -> RunSpec {
    let mut each = StepSpec::new("each", "DO {{ item }}");
    each.for_each = Some(list.into());
    each.max_parallel = Some(1);
    let mut after = StepSpec::new("after", "AFTER {{ steps.each.output | join(',') }}");
    after.upstream = vec![0];
    RunSpec::new("resume", "run-1", vec![each, after])
}

fn element(index: usize, item: Option<Value>) -> SeedElement {
    let mut record = StepRecord::early("each", Status::Succeeded, String::new());
    record.error = None;
    record.output = json!(format!("kept {index}"));
    record.attempts = 1;
    SeedElement {
        step: "each".into(),
        index,
        record,
        item,
    }
}

async fn run(agent: &Arc<FakeAgent>, spec: RunSpec, seed: Seed) -> (RunReport, Vec<RunEvent>) {
    let (_tx, cancel) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| events.push(e.clone());
    let report = tokio::time::timeout(
        Duration::from_secs(20),
        execute_seeded(agent.clone(), spec, seed, cancel, &mut sink),
    )
    .await
    .expect("the run finished");
    (report, events)
}

fn echo() -> Arc<FakeAgent> {
    Arc::new(FakeAgent::new(|t| {
        FakeTurn::answer(&t.input.to_lowercase().replace(' ', "-"))
    }))
}

fn sent(agent: &FakeAgent) -> Vec<String> {
    agent.turns().into_iter().map(|t| t.input).collect()
}

fn reused(events: &[RunEvent]) -> Vec<usize> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepFinished {
                index: Some(ix),
                reused: true,
                ..
            } => Some(*ix),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn finished_elements_are_kept_and_only_the_others_run() {
    let agent = echo();
    let list = "['a', 'b', 'c', 'd', 'e', 'f']";
    let seed = Seed {
        elements: [0, 2, 4]
            .iter()
            .map(|&i| element(i, Some(json!(["a", "b", "c", "d", "e", "f"][i]))))
            .collect(),
        ..Seed::default()
    };
    let (report, events) = run(&agent, fan_out(list), seed).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(sent(&agent)[..3], ["DO b", "DO d", "DO f"]);
    assert_eq!(reused(&events), vec![0, 2, 4]);
    let each = report.steps.iter().find(|s| s.id == "each").unwrap();
    assert_eq!(
        each.output,
        json!(["kept 0", "do-b", "kept 2", "do-d", "kept 4", "do-f"])
    );
    assert!(!each.reused, "the step itself ran");
    assert_eq!(sent(&agent)[3], "AFTER kept 0,do-b,kept 2,do-d,kept 4,do-f");
    let started: Vec<Value> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepStarted { item, .. } => item.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![json!("b"), json!("d"), json!("f")]);
}

#[tokio::test]
async fn an_element_whose_item_changed_or_is_unknown_runs_again() {
    let agent = echo();
    let seed = Seed {
        elements: vec![
            element(0, Some(json!("a"))),
            element(1, Some(json!("was b"))),
            element(2, None),
            element(7, Some(json!("gone"))),
        ],
        ..Seed::default()
    };
    let (report, events) = run(&agent, fan_out("['a', 'b', 'c']"), seed).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(sent(&agent)[..2], ["DO b", "DO c"]);
    assert_eq!(reused(&events), vec![0]);
}

#[tokio::test]
async fn a_fan_out_whose_elements_are_all_kept_sends_nothing_for_it() {
    let agent = echo();
    let seed = Seed {
        elements: vec![element(0, Some(json!("a"))), element(1, Some(json!("b")))],
        ..Seed::default()
    };
    let (report, _) = run(&agent, fan_out("['a', 'b']"), seed).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(sent(&agent), vec!["AFTER kept 0,kept 1"]);
}

#[tokio::test]
async fn a_failed_element_of_an_earlier_session_is_not_kept() {
    let agent = echo();
    let mut failed = element(1, Some(json!("b")));
    failed.record.status = Status::Failed;
    let seed = Seed {
        elements: vec![failed],
        ..Seed::default()
    };
    let (_, events) = run(&agent, fan_out("['a', 'b']"), seed).await;
    assert_eq!(sent(&agent)[..2], ["DO a", "DO b"]);
    assert!(reused(&events).is_empty());
}
