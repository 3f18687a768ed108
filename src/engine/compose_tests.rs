//! Engine tests of composition over the in-process fake agent: joins, pools, steps that
//! call a workflow (open, parts, close, skip, failure, resume), templated policies and
//! the run's own directory.

use std::sync::Arc;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::agent::TurnEnd;
use super::event::{RunEvent, Status};
use super::fake::{FakeAgent, FakeTurn, run_seeded};
use super::spec::{CallSpec, RunSpec, ScopeSpec, StepSpec};
use super::{RunReport, Seed, StepRecord};
use crate::vocab::{Effort, Join};
use crate::workflow::{Input, InputType, Spanned};

fn spec(steps: Vec<StepSpec>) -> RunSpec {
    RunSpec {
        inputs: json!({"level": "high"}),
        jobs: 8,
        run_dir: Some("/runs/run-1/files".into()),
        ..RunSpec::new("main", "run-1", steps)
    }
}

fn step(id: &str, prompt: &str, upstream: &[usize]) -> StepSpec {
    let mut s = StepSpec::new(id, prompt);
    s.upstream = upstream.to_vec();
    s
}

/// `ok`, except the prompt `bad`, whose turn fails; every turn takes 20 ms.
fn agent() -> Arc<FakeAgent> {
    Arc::new(FakeAgent::new(|t| {
        let turn = if t.input == "bad" {
            FakeTurn {
                end: TurnEnd::Failed {
                    message: "boom".into(),
                    retryable: false,
                },
                ..FakeTurn::answer("")
            }
        } else {
            FakeTurn::answer(&format!("did {}", t.input))
        };
        turn.slow(Duration::from_millis(20))
    }))
}

async fn run(agent: &Arc<FakeAgent>, spec: RunSpec) -> RunReport {
    run_seeded(agent, spec, Seed::default()).await.0
}

fn status(report: &RunReport, id: &str) -> Status {
    rec(report, id).status
}

fn rec<'a>(report: &'a RunReport, id: &str) -> &'a StepRecord {
    report
        .steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn prompts(agent: &FakeAgent) -> Vec<String> {
    let mut seen: Vec<String> = agent.turns().into_iter().map(|t| t.input).collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn joins_decide_from_upstream_results_and_the_run_still_fails() {
    let mut steps = vec![step("good", "good", &[]), step("bad", "bad", &[])];
    for (id, join) in [
        ("all", Join::AllSucceeded),
        ("any", Join::AnySucceeded),
        ("done", Join::AllDone),
    ] {
        let mut s = step(id, id, &[0, 1]);
        s.join = join;
        steps.push(s);
    }
    let mut none = step("none_ok", "none_ok", &[1]);
    none.join = Join::AnySucceeded;
    steps.push(none);
    let fake = agent();
    let report = run(&fake, spec(steps)).await;
    assert_eq!(status(&report, "all"), Status::Skipped);
    assert_eq!(status(&report, "any"), Status::Succeeded);
    assert_eq!(status(&report, "done"), Status::Succeeded);
    assert_eq!(status(&report, "none_ok"), Status::Skipped);
    assert_eq!(
        rec(&report, "none_ok").error.as_deref(),
        Some("`join: any_succeeded`: no upstream step succeeded")
    );
    assert_eq!(
        report.status,
        Status::Failed,
        "a join never hides a failure"
    );
}

#[tokio::test]
async fn a_pool_bounds_its_steps_beside_jobs() {
    let mut steps = Vec::new();
    for i in 0..5 {
        let mut s = step(&format!("heavy{i}"), &format!("h{i}"), &[]);
        s.pool = Some("heavy".into());
        steps.push(s);
    }
    steps.push(step("light", "light", &[]));
    let mut spec = spec(steps);
    spec.pools = vec![("heavy".into(), 2)];
    let fake = agent();
    let report = run(&fake, spec).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(fake.turns().len(), 6);
    let peak = fake.peak.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(peak, 3, "two of the pool and the step outside it");
}

/// `survey`, then `lint` calling a workflow of two steps (`check`, then `fix` reading it),
/// then `after` reading `lint`'s output.
fn calling(with: Value) -> RunSpec {
    let mut lint = step("lint", "", &[0]);
    lint.call = Some(CallSpec {
        uses: "./lint.yaml".into(),
        scope: 1,
        with: vec![("target".into(), with)],
        inputs: vec![Input {
            name: Spanned::new("target".into(), Default::default()),
            ty: InputType::String,
            description: None,
            default: None,
            required: true,
            values: Vec::new(),
            secret: false,
        }],
        outputs: vec![("verdict".into(), "{{ steps.fix.output }}".into())],
    });
    let mut check = step(
        "lint/check",
        "check {{ inputs.target }} in {{ workflow.name }}",
        &[],
    );
    check.parent = Some(1);
    check.scope = 1;
    let mut fix = step("lint/fix", "fix {{ steps.check.output }}", &[2]);
    fix.parent = Some(1);
    fix.scope = 1;
    let after = step("after", "after {{ steps.lint.output.verdict }}", &[1]);
    let mut spec = spec(vec![step("survey", "survey", &[]), lint, check, fix, after]);
    spec.scopes = vec![
        ScopeSpec::default(),
        ScopeSpec {
            prefix: "lint/".into(),
            workflow_name: "lint".into(),
            ..ScopeSpec::default()
        },
    ];
    spec
}

#[tokio::test]
async fn a_call_opens_with_its_inputs_runs_its_parts_and_gives_their_outputs() {
    let fake = agent();
    let (report, events) = run_seeded(
        &fake,
        calling(json!("{{ steps.survey.output }}")),
        Seed::default(),
    )
    .await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(
        prompts(&fake),
        vec![
            "after did fix did check did survey in lint",
            "check did survey in lint",
            "fix did check did survey in lint",
            "survey",
        ]
    );
    assert_eq!(
        rec(&report, "lint").output,
        json!({"verdict": "did fix did check did survey in lint"})
    );
    assert_eq!(rec(&report, "lint").usage.total_tokens, 20);
    assert_eq!(
        report.usage.total_tokens, 40,
        "the call's usage is its parts'"
    );
    let finished: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepFinished { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        finished,
        ["survey", "lint/check", "lint/fix", "lint", "after"]
    );
}

#[tokio::test]
async fn a_call_whose_inputs_do_not_fit_fails_and_its_parts_are_skipped() {
    let fake = agent();
    let report = run(&fake, calling(json!(3))).await;
    assert_eq!(status(&report, "lint"), Status::Failed);
    assert_eq!(
        rec(&report, "lint").error.as_deref(),
        Some("input `target` of `./lint.yaml` must be a string, got `3`")
    );
    assert_eq!(status(&report, "lint/check"), Status::Skipped);
    assert_eq!(
        rec(&report, "lint/check").error.as_deref(),
        Some("`lint` did not run: input `target` of `./lint.yaml` must be a string, got `3`")
    );
    assert_eq!(prompts(&fake), vec!["survey"]);
}

#[tokio::test]
async fn a_failed_part_fails_the_call_and_a_resume_keeps_what_succeeded() {
    let mut failing = calling(json!("x"));
    failing.steps[3].prompt = "bad".into();
    let fake = agent();
    let report = run(&fake, failing).await;
    assert_eq!(status(&report, "lint"), Status::Failed);
    assert_eq!(
        rec(&report, "lint").error.as_deref(),
        Some("step `lint/fix` failed: the turn failed: boom")
    );
    assert_eq!(status(&report, "after"), Status::Skipped);
    let kept: Vec<StepRecord> = report
        .steps
        .iter()
        .filter(|r| r.status == Status::Succeeded)
        .cloned()
        .collect();
    let again = agent();
    let (report, events) = run_seeded(
        &again,
        calling(json!("x")),
        Seed {
            done: kept,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(
        prompts(&again),
        vec![
            "after did fix did check x in lint",
            "fix did check x in lint"
        ]
    );
    let reused: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepFinished {
                step, reused: true, ..
            } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reused, ["survey", "lint/check"]);
}

#[tokio::test]
async fn a_call_that_may_fail_excuses_the_failure_of_its_parts() {
    let mut failing = calling(json!("x"));
    failing.steps[3].prompt = "bad".into();
    failing.steps[1].continue_on_error = true;
    failing.steps[4].prompt = "after {{ steps.lint.status }}".into();
    failing.fail_fast = true;
    let fake = agent();
    let report = run(&fake, failing).await;
    assert_eq!(status(&report, "lint/fix"), Status::Failed);
    assert_eq!(status(&report, "lint"), Status::Failed);
    assert_eq!(
        status(&report, "after"),
        Status::Succeeded,
        "no fail-fast halt"
    );
    assert_eq!(report.status, Status::Succeeded);
    assert!(prompts(&fake).contains(&"after failed".to_string()));
}

#[tokio::test]
async fn a_skipped_call_skips_its_parts() {
    let mut skipped = calling(json!("x"));
    skipped.steps[1].if_expr = Some("false".into());
    let fake = agent();
    let report = run(&fake, skipped).await;
    assert_eq!(status(&report, "lint"), Status::Skipped);
    assert_eq!(status(&report, "lint/check"), Status::Skipped);
    assert_eq!(status(&report, "lint/fix"), Status::Skipped);
    assert_eq!(status(&report, "after"), Status::Skipped);
    assert_eq!(prompts(&fake), vec!["survey"]);
}

#[tokio::test]
async fn templated_policies_and_agent_settings_reach_the_thread_and_the_turn() {
    let mut s = step("a", "a", &[]);
    s.model_template = Some("model-{{ inputs.level }}".into());
    s.effort_template = Some("{{ inputs.level }}".into());
    s.config = Some(json!({"web_search": "live"}).as_object().unwrap().clone());
    s.developer_instructions = Some("Be brief.".into());
    s.sandbox = crate::vocab::Sandbox::WorkspaceWrite;
    s.network = true;
    let mut wrong = step("b", "b", &[]);
    wrong.effort_template = Some("{{ inputs.level }}er".into());
    let fake = agent();
    let report = run(&fake, spec(vec![s, wrong])).await;
    assert_eq!(status(&report, "a"), Status::Succeeded);
    let opened = fake.opened();
    let (_, options, _) = &opened[0];
    assert_eq!(options.model.as_deref(), Some("model-high"));
    assert_eq!(options.effort, Some(Effort::High));
    assert_eq!(options.developer_instructions.as_deref(), Some("Be brief."));
    assert_eq!(
        options.config,
        Some(json!({"web_search": "live"}).as_object().unwrap().clone())
    );
    let seen = fake.specs();
    assert_eq!(seen[0].model.as_deref(), Some("model-high"));
    assert!(seen[0].network);
    assert_eq!(
        seen[0].writable_roots,
        vec![std::path::PathBuf::from("/runs/run-1/files")]
    );
    assert_eq!(status(&report, "b"), Status::Failed);
    assert_eq!(
        rec(&report, "b").error.as_deref(),
        Some(
            "`effort` rendered to `higher`, which is not one of none, minimal, low, medium, high, xhigh"
        )
    );
}

#[tokio::test]
async fn templates_read_the_runs_own_directory() {
    let fake = agent();
    let report = run(&fake, spec(vec![step("a", "write to {{ run.dir }}", &[])])).await;
    assert_eq!(report.status, Status::Succeeded);
    assert_eq!(prompts(&fake), vec!["write to /runs/run-1/files"]);
}

#[test]
fn a_call_and_its_parts_run_again_together_on_resume() {
    let mut call = StepSpec::new("lint", "");
    call.upstream = vec![0];
    let mut check = StepSpec::new("lint/check", "C");
    check.parent = Some(1);
    let mut fix = StepSpec::new("lint/fix", "F");
    fix.parent = Some(1);
    fix.upstream = vec![2];
    let mut after = StepSpec::new("after", "A");
    after.upstream = vec![1];
    let s = spec(vec![StepSpec::new("first", "1"), call, check, fix, after]);
    let all = names(&["first", "lint", "lint/check", "lint/fix", "after"]);
    assert_eq!(
        super::kept_steps(&s, &all, &names(&["lint/fix"])),
        names(&["first", "lint/check"]),
        "a part changed: its caller and what follows run again, its earlier sibling is kept"
    );
    assert_eq!(
        super::kept_steps(&s, &all, &names(&["first"])),
        names(&[]),
        "the caller's inputs may differ: its parts run again"
    );
    assert_eq!(
        super::kept_steps(&s, &all, &names(&["lint"])),
        names(&["first"]),
    );
}

fn names(ids: &[&str]) -> std::collections::BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}
