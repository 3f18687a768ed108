//! Engine tests over the in-process fake agent.

use std::sync::Arc;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::sync::watch;

use super::agent::{AgentError, ThreadOpen, TurnEnd};
use super::event::{RunEvent, Status};
use super::fake::{FakeAgent, FakeTurn};
use super::spec::{RunSpec, StepSpec, ThreadMode};
use super::{RunReport, Seed, StepRecord, execute, execute_seeded};

fn run_spec(steps: Vec<StepSpec>) -> RunSpec {
    RunSpec {
        inputs: json!({"module": "src/lib.rs"}),
        ..RunSpec::new("test", "run-1", steps)
    }
}

fn step(id: &str, prompt: &str, upstream: &[usize]) -> StepSpec {
    let mut s = StepSpec::new(id, prompt);
    s.upstream = upstream.to_vec();
    s
}

/// A step on the thread `planner` (`Named` or `Fork`), with the options the planner
/// merges in from that thread's definition.
fn on_planner(mut s: StepSpec, mode: fn(String) -> ThreadMode) -> StepSpec {
    s.thread = mode("planner".into());
    s.model = Some("big".into());
    s.developer_instructions = Some("Plan only.".into());
    s
}

async fn run(agent: &Arc<FakeAgent>, spec: RunSpec) -> (RunReport, Vec<RunEvent>) {
    let (_tx, rx) = watch::channel(false);
    run_with_cancel(agent, spec, rx).await
}

async fn run_with_cancel(
    agent: &Arc<FakeAgent>,
    spec: RunSpec,
    cancel: watch::Receiver<bool>,
) -> (RunReport, Vec<RunEvent>) {
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| events.push(e.clone());
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        execute(agent.clone(), spec, cancel, &mut sink),
    )
    .await
    .expect("the run finished");
    (report, events)
}

fn statuses(report: &RunReport) -> Vec<(String, Status)> {
    report
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.status))
        .collect()
}

fn record<'a>(report: &'a RunReport, id: &str) -> &'a super::StepRecord {
    report.steps.iter().find(|s| s.id == id).unwrap()
}

#[tokio::test]
async fn outputs_flow_downstream_and_model_text_stays_data() {
    let agent = Arc::new(FakeAgent::new(|t| {
        if t.input.starts_with("first") {
            FakeTurn::answer("{{ 7*7 }}")
        } else {
            FakeTurn::answer("done")
        }
    }));
    let mut spec = run_spec(vec![
        step("a", "first {{ inputs.module }}", &[]),
        step("b", "second saw [{{ steps.a.output }}]", &[0]),
    ]);
    spec.outputs = vec![("last".into(), "{{ steps.b.output }}".into())];
    let (report, _) = run(&agent, spec).await;
    assert_eq!(report.status, Status::Succeeded);
    let inputs: Vec<String> = agent.turns().into_iter().map(|t| t.input).collect();
    assert_eq!(inputs, vec!["first src/lib.rs", "second saw [{{ 7*7 }}]"]);
    assert_eq!(report.outputs["last"], json!("done"));
}

#[tokio::test]
async fn a_named_thread_is_one_conversation_and_fresh_steps_get_new_threads() {
    let agent = Arc::new(FakeAgent::new(|_| FakeTurn::answer("ok")));
    let survey = on_planner(step("survey", "survey", &[]), ThreadMode::Named);
    let plan = on_planner(step("plan", "plan", &[0]), ThreadMode::Named);
    let edit = step("edit", "edit", &[1]);
    let branch = on_planner(step("branch", "branch", &[1]), ThreadMode::Fork);
    let (report, _) = run(&agent, run_spec(vec![survey, plan, edit, branch])).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(
        record(&report, "survey").thread_id,
        record(&report, "plan").thread_id
    );
    assert_ne!(
        record(&report, "edit").thread_id,
        record(&report, "plan").thread_id
    );
    let opened = agent.opened();
    assert_eq!(opened.len(), 3, "{opened:?}");
    assert_eq!(opened[0].1.model.as_deref(), Some("big"));
    assert_eq!(
        opened[0].1.developer_instructions.as_deref(),
        Some("Plan only.")
    );
    let planner = record(&report, "plan").thread_id.clone().unwrap();
    assert!(
        opened
            .iter()
            .any(|(how, _, _)| *how == ThreadOpen::Fork(planner.clone()))
    );
}

#[tokio::test]
async fn threads_are_released_once_nothing_can_use_them_and_kept_for_forks_and_resumes() {
    let agent = Arc::new(FakeAgent::new(|t| {
        if t.input == "list" {
            FakeTurn::answer(r#"{"files": ["a", "b", "c"]}"#)
        } else {
            FakeTurn::answer("ok")
        }
    }));
    let mut list = on_planner(step("list", "list", &[]), ThreadMode::Named);
    list.output_schema =
        Some(json!({"type": "object", "properties": {"files": {"type": "array"}}}));
    let mut each = step("each", "{{ item }}", &[0]);
    each.for_each = Some("steps.list.output.files".into());
    let branch = on_planner(step("branch", "branch", &[1]), ThreadMode::Fork);
    let last = on_planner(step("last", "last", &[2]), ThreadMode::Named);
    let keep = step("keep", "keep", &[]);
    let mut again = step("again", "again", &[4]);
    again.thread = ThreadMode::Resume("{{ steps.keep.thread_id }}".into());
    let spec = run_spec(vec![list, each, branch, last, keep, again]);
    let (report, _) = run(&agent, spec).await;
    assert_eq!(report.status, Status::Succeeded);
    let thread = |id: &str| record(&report, id).thread_id.clone().unwrap();
    let opened = agent.opened();
    let each_threads: Vec<String> = opened
        .iter()
        .filter(|(how, _, _)| *how == ThreadOpen::Start)
        .map(|(_, _, id)| id.clone())
        .filter(|id| *id != thread("list") && *id != thread("keep"))
        .collect();
    assert_eq!(each_threads.len(), 3, "{opened:?}");
    let mut released = agent.released();
    released.sort();
    let mut expected = each_threads;
    expected.extend([thread("branch"), thread("list")]);
    expected.sort();
    assert_eq!(
        released, expected,
        "the elements, the fork and the planner; not `keep`, which `again` resumes"
    );
    let log = agent.log.lock().unwrap().clone();
    let at = |line: String| log.iter().position(|l| *l == line).unwrap();
    let planner = thread("list");
    let released_at = at(format!("release {planner}"));
    assert!(
        at(format!("open {} from {planner}", thread("branch"))) < released_at,
        "{log:?}"
    );
    let last_turn = log.iter().rposition(|l| *l == format!("turn {planner}"));
    assert!(last_turn < Some(released_at), "{log:?}");
    let mut turns_on_planner = agent.turns().into_iter().filter(|t| t.thread_id == planner);
    assert_eq!(
        turns_on_planner.next_back().map(|t| t.input),
        Some("last".into())
    );
}

#[tokio::test]
async fn a_shard_runs_its_own_elements_with_their_places_in_the_whole_fan_out() {
    let agent = Arc::new(FakeAgent::new(|t| {
        FakeTurn::answer(&format!("did {}", t.input))
    }));
    let mut each = step("each", "{{ loop.index }}/{{ loop.length }}:{{ item }}", &[]);
    each.for_each = Some("['a', 'b', 'c', 'd', 'e', 'f', 'g']".into());
    let mut spec = run_spec(vec![each]);
    spec.shard = Some(super::shard::Shard {
        step: 0,
        index: 2,
        count: 3,
    });
    let (report, events) = run(&agent, spec).await;
    assert_eq!(report.status, Status::Succeeded);
    let mut inputs: Vec<String> = agent.turns().into_iter().map(|t| t.input).collect();
    inputs.sort();
    assert_eq!(inputs, vec!["2/7:b", "5/7:e"]);
    assert_eq!(
        record(&report, "each").output,
        json!(["did 2/7:b", "did 5/7:e"])
    );
    let indexes: Vec<Option<usize>> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepFinished {
                index: Some(ix), ..
            } => Some(Some(*ix)),
            _ => None,
        })
        .collect();
    assert_eq!(indexes.len(), 2);
    assert!(
        indexes.contains(&Some(1)) && indexes.contains(&Some(4)),
        "{indexes:?}"
    );
}

#[tokio::test]
async fn fan_out_respects_max_parallel_and_keeps_input_order() {
    let agent = Arc::new(FakeAgent::new(|t| {
        if t.input == "list" {
            FakeTurn::answer(r#"{"files": ["a", "b", "c", "d", "e"]}"#)
        } else {
            let delay = if t.input.ends_with('a') { 60 } else { 20 };
            FakeTurn::answer(&format!("did {}", t.input)).slow(Duration::from_millis(delay))
        }
    }));
    let mut list = step("list", "list", &[]);
    list.output_schema = Some(
        json!({"type": "object", "required": ["files"], "properties": {"files": {"type": "array"}}}),
    );
    let mut each = step("each", "{{ loop.index }}:{{ file }}", &[0]);
    each.for_each = Some("steps.list.output.files".into());
    each.as_name = "file".into();
    each.max_parallel = Some(2);
    let (report, events) = run(&agent, run_spec(vec![list, each])).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(
        record(&report, "each").output,
        json!(["did 1:a", "did 2:b", "did 3:c", "did 4:d", "did 5:e"])
    );
    assert_eq!(agent.peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    let element_events = events
        .iter()
        .filter(
            |e| matches!(e, RunEvent::StepFinished { step, index: Some(_), .. } if step == "each"),
        )
        .count();
    assert_eq!(element_events, 5);
}

#[tokio::test]
async fn an_invalid_answer_is_corrected_on_the_same_thread() {
    let agent = Arc::new(FakeAgent::new(|t| {
        if t.input.starts_with("Your previous answer") {
            FakeTurn::answer(r#"{"n": 3}"#)
        } else {
            FakeTurn::answer(r#"{"n": "three"}"#)
        }
    }));
    let mut count = step("count", "count", &[]);
    count.output_schema = Some(
        json!({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}),
    );
    let (report, events) = run(&agent, run_spec(vec![count])).await;
    assert_eq!(statuses(&report), vec![("count".into(), Status::Succeeded)]);
    assert_eq!(record(&report, "count").output, json!({"n": 3}));
    assert_eq!(record(&report, "count").attempts, 2);
    let turns = agent.turns();
    assert_eq!(turns[0].thread_id, turns[1].thread_id);
    assert!(
        turns.iter().all(|t| t.schema),
        "the schema goes with every attempt"
    );
    assert!(turns[1].input.contains("at `/n`"), "{}", turns[1].input);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RunEvent::StepRetrying { attempt: 2, .. }))
    );
}

#[tokio::test]
async fn a_never_valid_answer_fails_naming_the_errors() {
    let agent = Arc::new(FakeAgent::new(|_| FakeTurn::answer("not json at all")));
    let mut count = step("count", "count", &[]);
    count.retries = 2;
    count.output_schema = Some(json!({"type": "object"}));
    let (report, _) = run(&agent, run_spec(vec![count])).await;
    assert_eq!(report.status, Status::Failed);
    let rec = record(&report, "count");
    assert_eq!(rec.attempts, 3);
    let error = rec.error.clone().unwrap();
    assert!(error.contains("the answer is not JSON"), "{error}");
    assert!(error.contains("not json at all"), "{error}");
    assert!(error.contains("after 3 attempts"), "{error}");
}

#[tokio::test]
async fn if_false_skips_and_dependents_follow_unless_they_have_their_own_if() {
    let agent = Arc::new(FakeAgent::new(|_| FakeTurn::answer("ok")));
    let mut gated = step("gated", "x", &[]);
    gated.if_expr = Some("inputs.module == 'other'".into());
    let after = step("after", "y", &[0]);
    let mut opted = step("opted", "z", &[0]);
    opted.if_expr = Some("steps.gated.status == 'skipped'".into());
    let (report, _) = run(&agent, run_spec(vec![gated, after, opted])).await;
    assert_eq!(
        statuses(&report),
        vec![
            ("gated".into(), Status::Skipped),
            ("after".into(), Status::Skipped),
            ("opted".into(), Status::Succeeded)
        ]
    );
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(agent.turns().len(), 1);
}

/// A fake whose turn with the prompt `bad` fails for good; every other answers `ok`.
fn fails_when_bad() -> FakeAgent {
    FakeAgent::new(|t| {
        if t.input == "bad" {
            FakeTurn {
                end: TurnEnd::Failed {
                    message: "boom".into(),
                    retryable: false,
                },
                ..FakeTurn::answer("")
            }
        } else {
            FakeTurn::answer("ok")
        }
    })
}

#[tokio::test]
async fn a_prompt_that_does_not_render_fails_its_step_before_any_turn() {
    let agent = Arc::new(FakeAgent::new(|_| FakeTurn::answer("ok")));
    let spec = run_spec(vec![
        step("bad", "uses {{ inputs.missing }}", &[]),
        step("after", "after", &[0]),
    ]);
    let (report, _) = run(&agent, spec).await;
    assert_eq!(
        statuses(&report),
        vec![
            ("bad".into(), Status::Failed),
            ("after".into(), Status::Skipped)
        ]
    );
    let error = record(&report, "bad").error.clone().unwrap_or_default();
    assert!(
        error.starts_with("the prompt could not be rendered: undefined value"),
        "{error}"
    );
    assert_eq!(record(&report, "bad").attempts, 0);
    assert!(agent.turns().is_empty(), "no turn ran");
}

#[tokio::test]
async fn a_failure_skips_dependents_but_independent_branches_finish() {
    let agent = Arc::new(fails_when_bad());
    let steps = vec![
        step("bad", "bad", &[]),
        step("after", "after", &[0]),
        step("other", "other", &[]),
    ];
    let (report, _) = run(&agent, run_spec(steps.clone())).await;
    assert_eq!(
        statuses(&report),
        vec![
            ("bad".into(), Status::Failed),
            ("after".into(), Status::Skipped),
            ("other".into(), Status::Succeeded)
        ]
    );
    assert_eq!(
        record(&report, "bad").error.as_deref(),
        Some("the turn failed: boom")
    );
    assert_eq!(report.status, Status::Failed);

    let mut spec = run_spec(steps);
    spec.jobs = 1;
    spec.fail_fast = true;
    let (report, _) = run(&agent, spec).await;
    assert_eq!(record(&report, "other").status, Status::Skipped);
}

#[tokio::test]
async fn continue_on_error_lets_dependents_run_and_the_run_succeed() {
    let agent = Arc::new(fails_when_bad());
    let mut bad = step("bad", "bad", &[]);
    bad.continue_on_error = true;
    let (report, _) = run(
        &agent,
        run_spec(vec![bad, step("after", "{{ steps.bad.status }}", &[0])]),
    )
    .await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(agent.turns()[1].input, "failed");
}

#[tokio::test]
async fn fail_if_fails_a_succeeded_step_keeping_its_output() {
    let agent = Arc::new(FakeAgent::new(|t| match t.input.as_str() {
        "severe" => FakeTurn::answer(r#"{"level": "error"}"#),
        _ => FakeTurn::answer(r#"{"level": "note"}"#),
    }));
    let schema = json!({"type": "object", "properties": {"level": {"type": "string"}}});
    let gated = |id: &str, prompt: &str| {
        let mut s = step(id, prompt, &[]);
        s.output_schema = Some(schema.clone());
        s.fail_if = Some("output.level == 'error'".into());
        s
    };
    let mut after = step("after", "after", &[0]);
    after.upstream = vec![0];
    let (report, _) = run(
        &agent,
        run_spec(vec![
            gated("severe", "severe"),
            gated("mild", "mild"),
            after,
        ]),
    )
    .await;
    let severe = record(&report, "severe");
    assert_eq!(severe.status, Status::Failed);
    assert_eq!(
        severe.error.as_deref(),
        Some("`fail_if: output.level == 'error'` is true")
    );
    assert_eq!(severe.output, json!({"level": "error"}));
    assert_eq!(record(&report, "mild").status, Status::Succeeded);
    assert_eq!(record(&report, "after").status, Status::Skipped);
    assert_eq!(report.status, Status::Failed);
}

#[tokio::test]
async fn a_step_timeout_interrupts_the_turn_and_fails_the_step() {
    let agent = Arc::new(FakeAgent::new(|_| {
        FakeTurn::answer("late").slow(Duration::from_secs(30))
    }));
    let mut slow = step("slow", "slow", &[]);
    slow.timeout = Some(Duration::from_millis(50));
    let (report, _) = run(&agent, run_spec(vec![slow])).await;
    let rec = record(&report, "slow");
    assert_eq!(rec.status, Status::Failed);
    assert_eq!(
        rec.error.as_deref(),
        Some("timed out after 50ms; the turn was interrupted")
    );
}

#[tokio::test]
async fn token_budgets_stop_the_turn() {
    let agent = Arc::new(FakeAgent::new(|_| FakeTurn {
        tokens: 500,
        ..FakeTurn::answer("x").slow(Duration::from_secs(30))
    }));
    let mut big = step("big", "big", &[]);
    big.max_tokens = Some(100);
    let (report, _) = run(&agent, run_spec(vec![big])).await;
    assert_eq!(
        record(&report, "big").error.as_deref(),
        Some("exceeded the token budget of 100 per turn; the turn was interrupted")
    );
    let mut spec = run_spec(vec![step("a", "a", &[]), step("b", "b", &[])]);
    spec.max_tokens = Some(700);
    let (report, _) = run(&agent, spec).await;
    assert_eq!(report.status, Status::Failed);
    assert!(report.steps.iter().all(|s| s.error.as_deref()
        == Some("exceeded the run's token budget of 700; the turn was interrupted")));
}

#[tokio::test]
async fn overload_is_retried_then_succeeds() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let agent = Arc::new(FakeAgent::new(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            FakeTurn {
                error: Some(AgentError::Retryable("busy".into())),
                ..FakeTurn::answer("")
            }
        } else {
            FakeTurn::answer("ok")
        }
    }));
    let (report, _) = run(&agent, run_spec(vec![step("a", "a", &[])])).await;
    assert_eq!(record(&report, "a").status, Status::Succeeded);
    assert_eq!(record(&report, "a").attempts, 2);
}

#[tokio::test]
async fn a_dead_agent_is_fatal_and_nothing_else_starts() {
    let agent = Arc::new(FakeAgent::new(|_| FakeTurn {
        error: Some(AgentError::Fatal("the app-server exited (signal 9)".into())),
        ..FakeTurn::answer("")
    }));
    let (report, _) = run(
        &agent,
        run_spec(vec![step("a", "a", &[]), step("b", "b", &[0])]),
    )
    .await;
    assert_eq!(
        report.fatal.as_deref(),
        Some("the app-server exited (signal 9)")
    );
    assert_eq!(
        statuses(&report),
        vec![("a".into(), Status::Failed), ("b".into(), Status::Skipped)]
    );
}

#[tokio::test]
async fn cancelling_interrupts_running_turns() {
    let agent = Arc::new(FakeAgent::new(|_| {
        FakeTurn::answer("x").slow(Duration::from_secs(30))
    }));
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tx.send(true);
        tx.closed().await;
    });
    let spec = run_spec(vec![step("a", "a", &[]), step("b", "b", &[0])]);
    let (report, _) = run_with_cancel(&agent, spec, rx).await;
    assert_eq!(report.status, Status::Interrupted);
    assert_eq!(
        statuses(&report),
        vec![
            ("a".into(), Status::Interrupted),
            ("b".into(), Status::Skipped)
        ]
    );
}

#[tokio::test]
async fn approvals_follow_the_rules() {
    let agent = Arc::new(FakeAgent::new(|t| FakeTurn {
        approval: Some(if t.input == "ok" {
            "cargo test -q".into()
        } else {
            "rm -rf /".into()
        }),
        ..FakeTurn::answer("done")
    }));
    let mut ok = step("ok", "ok", &[]);
    ok.approve_commands = vec!["cargo test*".into()];
    let mut no = step("no", "no", &[]);
    no.approve_commands = vec!["cargo test*".into()];
    let (_, events) = run(&agent, run_spec(vec![ok, no])).await;
    let mut decided: Vec<(String, bool)> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::ApprovalDecided { step, approved, .. } => Some((step.clone(), *approved)),
            _ => None,
        })
        .collect();
    decided.sort();
    let mut seen: Vec<Option<bool>> = agent.turns().iter().map(|t| t.approval).collect();
    seen.sort();
    assert_eq!(seen, vec![Some(false), Some(true)]);
    assert_eq!(decided, vec![("no".into(), false), ("ok".into(), true)]);
}

#[tokio::test]
async fn the_run_timeout_interrupts_everything_and_fails_the_run() {
    let agent = Arc::new(FakeAgent::new(|_| {
        FakeTurn::answer("x").slow(Duration::from_secs(30))
    }));
    let mut spec = run_spec(vec![step("a", "a", &[]), step("b", "b", &[0])]);
    spec.timeout = Some(Duration::from_millis(50));
    let (report, _) = run(&agent, spec).await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(
        record(&report, "a").error.as_deref(),
        Some("the run timed out after 50ms; the turn was interrupted")
    );
    assert_eq!(record(&report, "b").status, Status::Skipped);
}

#[tokio::test]
async fn a_seeded_run_keeps_done_steps_and_resumes_their_named_thread() {
    let agent = Arc::new(FakeAgent::new(|t| {
        FakeTurn::answer(&format!("re: {}", t.input))
    }));
    let mut survey = step("survey", "SURVEY", &[]);
    survey.thread = ThreadMode::Named("planner".into());
    let mut plan = step("plan", "PLAN after {{ steps.survey.output }}", &[0]);
    plan.thread = ThreadMode::Named("planner".into());
    let mut again = step("again", "AGAIN", &[1]);
    again.thread = ThreadMode::Named("planner".into());
    let mut survey_done = StepRecord::early("survey", Status::Succeeded, String::new());
    survey_done.error = None;
    survey_done.output = json!("three items");
    survey_done.thread_id = Some("old-thread".into());
    survey_done.attempts = 1;
    survey_done.duration_ms = 7;
    let seed = Seed {
        done: vec![survey_done],
        elements: Vec::new(),
        threads: vec![("planner".into(), "old-thread".into())],
        iterations: Vec::new(),
    };
    let (_tx, cancel) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| events.push(e.clone());
    let spec = run_spec(vec![survey, plan, again]);
    let report = execute_seeded(agent.clone(), spec, seed, cancel, &mut sink).await;
    assert_eq!(report.status, Status::Succeeded);
    let inputs: Vec<String> = agent.turns().iter().map(|t| t.input.clone()).collect();
    assert_eq!(
        inputs,
        vec!["PLAN after three items", "AGAIN"],
        "survey is not run again"
    );
    let opened: Vec<ThreadOpen> = agent.opened().into_iter().map(|(how, ..)| how).collect();
    assert_eq!(
        opened,
        vec![ThreadOpen::Reopen("old-thread".into())],
        "reopened once"
    );
    assert!(agent.turns().iter().all(|t| t.thread_id == "old-thread"));
    assert!(record(&report, "survey").reused);
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::StepFinished { step, reused: true, .. } if step == "survey")));
}

/// A unit kind that is not a turn: its output is its rendered prompt, upper-cased.
struct Shout {
    key: super::unit::UnitKey,
    text: String,
}

impl super::unit::Unit for Shout {
    fn run(self: Box<Self>, link: super::unit::UnitLink) -> super::unit::UnitFuture {
        Box::pin(async move {
            link.sender.send(super::unit::UnitMsg::Started {
                thread_id: None,
                attempt: 1,
                prompt: self.text.clone(),
                iteration: None,
            });
            super::unit::UnitResult {
                status: Status::Succeeded,
                output: json!(self.text.to_uppercase()),
                attempts: 1,
                ..super::unit::UnitResult::new(self.key)
            }
        })
    }
}

struct MakeShouts;

impl super::launch::MakeUnit for MakeShouts {
    fn make(
        &self,
        input: super::launch::UnitInput<'_>,
    ) -> Result<Box<dyn super::unit::Unit>, super::unit::UnitError> {
        let text = input
            .renderer
            .render(&input.step.prompt, input.context)
            .map_err(|source| super::unit::UnitError::Render {
                what: "prompt",
                source,
            })?;
        Ok(Box::new(Shout {
            key: input.key,
            text,
        }))
    }

    fn release(&self, _thread_id: String) -> super::launch::Chore {
        Box::pin(async {})
    }
}

#[tokio::test]
async fn the_scheduler_runs_a_unit_of_any_kind() {
    let mut each = step("each", "item {{ item }}", &[0]);
    each.for_each = Some("steps.first.output | list".into());
    let spec = run_spec(vec![
        step("first", "ab", &[]),
        step("second", "saw {{ steps.first.output }}", &[0]),
        each,
    ]);
    let (_tx, cancel) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| events.push(e.clone());
    let run = super::scheduler::execute_units(
        Box::new(MakeShouts),
        spec,
        Seed::default(),
        cancel,
        &mut sink,
    );
    let report = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run finished");
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(record(&report, "second").output, json!("SAW AB"));
    assert_eq!(record(&report, "each").output, json!(["ITEM A", "ITEM B"]));
    let started = events
        .iter()
        .filter(|e| matches!(e, RunEvent::StepStarted { .. }))
        .count();
    assert_eq!(started, 4, "one start per unit");
}
