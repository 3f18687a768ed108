//! Engine tests of loops, scripts and gates over the in-process fake agent: how loops use
//! threads, end, fail and count tokens; scripts' exit codes and retries; gates answered,
//! rejected and waiting; a seeded loop continuing after its saved iterations.

use std::sync::Arc;

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::sync::watch;

use super::agent::ThreadOpen;
use super::event::{RunEvent, Status};
use super::fake::{FakeAgent, FakeTurn, run_seeded as run};
use super::looping::IterationRecord;
use super::spec::{GateAnswer, GateSpec, LoopSpec, RunSpec, StepSpec, UnitKind, UntilSpec};
use super::{RunReport, Seed, execute};
use crate::vocab::{LoopThread, OnMax, OutputFormat};

fn spec(steps: Vec<StepSpec>) -> RunSpec {
    RunSpec::new("steps", "run-1", steps)
}

fn looping(max: u32, until: &str, thread: LoopThread, on_max: OnMax) -> Option<LoopSpec> {
    Some(LoopSpec {
        max_iterations: max,
        until: UntilSpec::Expression(until.into()),
        thread,
        on_max,
    })
}

fn record<'a>(report: &'a RunReport, id: &str) -> &'a super::StepRecord {
    report.steps.iter().find(|s| s.id == id).expect("a record")
}

/// A fake that answers `n=<iteration>` for prompts `TRY <iteration> ...`.
fn counting() -> Arc<FakeAgent> {
    Arc::new(FakeAgent::new(|t| {
        let n = t.input.split_whitespace().nth(1).unwrap_or("?");
        FakeTurn::answer(&format!("n={n}"))
    }))
}

#[tokio::test]
async fn same_continues_one_thread_fresh_opens_one_per_iteration() {
    for (mode, threads) in [(LoopThread::Same, 1), (LoopThread::Fresh, 3)] {
        let agent = counting();
        let mut step = StepSpec::new(
            "fix",
            "TRY {{ iteration.number }} after {{ iteration.previous }}",
        );
        step.looping = looping(5, "output == 'n=3'", mode, OnMax::Fail);
        let (report, events) = run(&agent, spec(vec![step]), Seed::default()).await;
        let rec = record(&report, "fix");
        assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.error);
        assert_eq!(rec.output, json!("n=3"));
        assert_eq!(rec.iterations, Some(json!(["n=1", "n=2", "n=3"])));
        assert_eq!(rec.attempts, 3, "one turn per iteration");
        assert_eq!(rec.usage.total_tokens, 30);
        let inputs: Vec<String> = agent.turns().into_iter().map(|t| t.input).collect();
        assert_eq!(
            inputs,
            vec!["TRY 1 after None", "TRY 2 after n=1", "TRY 3 after n=2"]
        );
        assert_eq!(agent.opened().len(), threads, "{mode:?}");
        let ended: Vec<bool> = events
            .iter()
            .filter_map(|e| match e {
                RunEvent::IterationFinished { ended, .. } => Some(*ended),
                _ => None,
            })
            .collect();
        assert_eq!(ended, vec![false, false, true]);
    }
}

#[tokio::test]
async fn a_loop_that_never_converges_fails_unless_on_max_succeed() {
    for (on_max, status) in [
        (OnMax::Fail, Status::Failed),
        (OnMax::Succeed, Status::Succeeded),
    ] {
        let agent = counting();
        let mut step = StepSpec::new("fix", "TRY {{ iteration.number }}");
        step.looping = looping(2, "false", LoopThread::Same, on_max);
        let (report, _) = run(&agent, spec(vec![step]), Seed::default()).await;
        let rec = record(&report, "fix");
        assert_eq!(rec.status, status);
        assert_eq!(rec.output, json!("n=2"));
        if on_max == OnMax::Fail {
            assert_eq!(
                rec.error.as_deref(),
                Some("did not converge after 2 iterations: `until: false` never held")
            );
        }
    }
}

#[tokio::test]
async fn the_run_budget_counts_every_iteration() {
    let agent = counting();
    let mut step = StepSpec::new("fix", "TRY {{ iteration.number }}");
    step.looping = looping(10, "false", LoopThread::Same, OnMax::Fail);
    let mut run_spec = spec(vec![step]);
    run_spec.max_tokens = Some(25);
    let (report, _) = run(&agent, run_spec, Seed::default()).await;
    assert_eq!(report.status, Status::Failed);
    assert!(
        agent.turns().len() <= 3,
        "the budget stops the loop: {} turns",
        agent.turns().len()
    );
}

#[tokio::test]
async fn a_seeded_loop_continues_after_its_saved_iterations() {
    let agent = counting();
    let mut step = StepSpec::new(
        "fix",
        "TRY {{ iteration.number }} after {{ iteration.previous }}",
    );
    step.looping = looping(5, "output == 'n=3'", LoopThread::Same, OnMax::Fail);
    let saved = |n: u32| IterationRecord {
        number: n,
        status: Status::Succeeded,
        output: json!(format!("n={n}")),
        error: None,
        usage: Default::default(),
        thread_id: Some("old".into()),
        attempts: 1,
        duration_ms: 1,
        ended: false,
    };
    let seed = Seed {
        iterations: vec![("fix".into(), None, vec![saved(1), saved(2)])],
        ..Seed::default()
    };
    let (report, _) = run(&agent, spec(vec![step]), seed).await;
    let rec = record(&report, "fix");
    assert_eq!(rec.iterations, Some(json!(["n=1", "n=2", "n=3"])));
    let inputs: Vec<String> = agent.turns().into_iter().map(|t| t.input).collect();
    assert_eq!(inputs, vec!["TRY 3 after n=2"]);
    let opened: Vec<ThreadOpen> = agent.opened().into_iter().map(|(how, ..)| how).collect();
    assert_eq!(opened, vec![ThreadOpen::Resume("old".into())]);
}

#[tokio::test]
async fn fan_out_elements_loop_on_their_own() {
    let agent = counting();
    let mut step = StepSpec::new("fix", "TRY {{ iteration.number }} {{ item }}");
    step.for_each = Some("['a', 'b']".into());
    step.looping = looping(3, "iteration.number == 2", LoopThread::Same, OnMax::Fail);
    let (report, _) = run(&agent, spec(vec![step]), Seed::default()).await;
    let rec = record(&report, "fix");
    assert_eq!(rec.status, Status::Succeeded);
    assert_eq!(
        rec.iterations,
        Some(json!([["n=1", "n=2"], ["n=1", "n=2"]]))
    );
    assert_eq!(rec.output, json!(["n=2", "n=2"]));
}

#[tokio::test]
async fn scripts_retry_and_report_their_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut flaky = StepSpec::script(
        "flaky",
        "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; test $n -ge 1",
    );
    flaky.cwd = dir.path().to_path_buf();
    flaky.retries = 1;
    let mut lines = StepSpec::script("lines", "printf 'a\\n\\nb\\r\\n'");
    lines.kind = UnitKind::Script(super::spec::ScriptSpec {
        run: "printf 'a\\n\\nb\\r\\n'".into(),
        output: OutputFormat::Lines,
    });
    let agent = counting();
    let (report, events) = run(&agent, spec(vec![flaky, lines]), Seed::default()).await;
    let rec = record(&report, "flaky");
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.error);
    assert_eq!(rec.attempts, 2);
    assert_eq!(rec.exit_code, Some(json!(0)));
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::StepRetrying { reason, .. } if reason == "the script exited with code 1 (nothing on stderr)")));
    assert_eq!(record(&report, "lines").output, json!(["a", "b"]));
    assert!(agent.turns().is_empty());
}

#[tokio::test]
async fn gates_take_their_answers_and_wait_without_one() {
    let gate = |id: &str| {
        let mut step = StepSpec::new(id, "");
        step.kind = UnitKind::Gate(GateSpec {
            question: format!("{id}?"),
        });
        step
    };
    let mut after = StepSpec::new("after", "AFTER {{ steps.yes.output.reply }}");
    after.upstream = vec![0];
    let mut waits = StepSpec::new("waits", "never");
    waits.upstream = vec![2];
    let mut run_spec = spec(vec![gate("yes"), gate("no"), gate("open"), after, waits]);
    run_spec.gates.insert(
        "yes".into(),
        GateAnswer {
            approved: true,
            reply: Some("go".into()),
        },
    );
    run_spec.gates.insert(
        "no".into(),
        GateAnswer {
            approved: false,
            reply: None,
        },
    );
    let agent = Arc::new(FakeAgent::new(|t| FakeTurn::answer(&t.input)));
    let (_tx, cancel) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| events.push(e.clone());
    let report = execute(agent.clone(), run_spec, cancel, &mut sink).await;
    assert_eq!(report.status, Status::Failed, "a rejection fails the run");
    assert_eq!(
        record(&report, "yes").output,
        json!({"approved": true, "reply": "go"})
    );
    assert_eq!(record(&report, "no").status, Status::Failed);
    assert_eq!(record(&report, "no").error.as_deref(), Some("rejected"));
    assert_eq!(record(&report, "open").status, Status::Waiting);
    assert_eq!(record(&report, "after").output, json!("AFTER go"));
    assert_eq!(record(&report, "waits").status, Status::Waiting);
    assert_eq!(
        record(&report, "waits").error.as_deref(),
        Some("waits for `open`")
    );
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::GateWaiting { step, question, .. } if step == "open" && question == "open?")));
}
