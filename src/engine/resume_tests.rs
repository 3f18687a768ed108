//! Engine tests of element-level resume over the in-process fake agent: a fan-out that
//! runs again keeps the elements an earlier session finished with the same item, runs
//! only the others, and its output is every element's, in order.

use std::sync::Arc;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::event::{RunEvent, Status};
use super::fake::{FakeAgent, FakeTurn, run_seeded as run};
use super::looping::IterationRecord;
use super::spec::{LoopSpec, RunSpec, StepSpec, UntilSpec};
use super::{Seed, SeedElement, StepRecord};
use crate::vocab::{LoopThread, OnMax};

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

fn iteration(n: u32) -> IterationRecord {
    IterationRecord {
        number: n,
        status: Status::Succeeded,
        output: json!(format!("n={n}")),
        error: None,
        usage: Default::default(),
        thread_id: Some("old".into()),
        attempts: 1,
        duration_ms: 1,
        ended: false,
    }
}

/// A fan-out of loops over `list`: element `item` answers `n=<iteration>` and ends at 2.
fn loops(list: &str) -> (Arc<FakeAgent>, RunSpec) {
    let agent = Arc::new(FakeAgent::new(|t| {
        let n = t.input.split_whitespace().nth(1).unwrap_or("?");
        FakeTurn::answer(&format!("n={n}"))
    }));
    let mut step = StepSpec::new("each", "TRY {{ iteration.number }} {{ item }}");
    step.for_each = Some(list.into());
    step.max_parallel = Some(1);
    step.looping = Some(LoopSpec {
        max_iterations: 3,
        until: UntilSpec::Expression("iteration.number == 2".into()),
        thread: LoopThread::Same,
        on_max: OnMax::Fail,
    });
    (agent, RunSpec::new("loops", "run-1", vec![step]))
}

#[tokio::test]
async fn loops_in_elements_keep_what_finished_and_continue_what_did_not() {
    let (agent, spec) = loops("['a', 'b', 'c']");
    let mut done = element(0, Some(json!("a")));
    done.record.output = json!("n=2");
    done.record.iterations = Some(json!(["n=1", "n=2"]));
    let mut halfway = element(1, Some(json!("b")));
    halfway.record.status = Status::Failed;
    let seed = Seed {
        elements: vec![done, halfway],
        iterations: vec![("each".into(), Some(1), vec![iteration(1)])],
        ..Seed::default()
    };
    let (report, _) = run(&agent, spec, seed).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(sent(&agent), vec!["TRY 2 b", "TRY 1 c", "TRY 2 c"]);
    let each = report.steps.iter().find(|s| s.id == "each").unwrap();
    assert_eq!(each.output, json!(["n=2", "n=2", "n=2"]));
    assert_eq!(
        each.iterations,
        Some(json!([["n=1", "n=2"], ["n=1", "n=2"], ["n=1", "n=2"]]))
    );
}

#[tokio::test]
async fn a_loop_whose_element_has_another_item_now_starts_over() {
    let (agent, spec) = loops("['a', 'B']");
    let mut halfway = element(1, Some(json!("b")));
    halfway.record.status = Status::Failed;
    let seed = Seed {
        elements: vec![halfway],
        iterations: vec![("each".into(), Some(1), vec![iteration(1)])],
        ..Seed::default()
    };
    let (_, _) = run(&agent, spec, seed).await;
    assert_eq!(
        sent(&agent),
        vec!["TRY 1 a", "TRY 2 a", "TRY 1 B", "TRY 2 B"]
    );
}
