//! The planner: edges from needs, references, thread order and forks; levels; critical
//! path; effective policies.

use std::path::Path;
use std::time::Duration;

use pretty_assertions::assert_eq;
use weft::plan::{EdgeKind, Format, Plan, ThreadPlan, render};
use weft::vocab::{Approval, Sandbox};
use weft::workflow::{ApprovalRules, Workflow, load, load_str};

fn workflow(yaml: &str) -> Workflow {
    load_str("w.yaml", yaml, Path::new(".")).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// What the engine answers a command approval under `rules` (a step's effective lists),
/// for `script` as the agent's shell runs it.
fn approves_command(rules: &ApprovalRules, script: &str) -> bool {
    engine_rules(rules).decide_script(script).approved
}

/// What the engine answers a change of `path` (relative to the step's directory).
fn approves_file(rules: &ApprovalRules, path: &str) -> bool {
    let cwd = Path::new("/work");
    engine_rules(rules)
        .decide_files(&[cwd.join(path)], cwd)
        .approved
}

fn engine_rules(rules: &ApprovalRules) -> weft::engine::approvals::ApprovalRules {
    let commands = rules.commands.clone().unwrap_or_default();
    let files = rules.files.clone().unwrap_or_default();
    weft::engine::approvals::ApprovalRules::new(&commands, &files)
}

fn deps(plan: &Plan, id: &str) -> Vec<(String, EdgeKind)> {
    plan.step(id)
        .unwrap()
        .deps
        .iter()
        .map(|d| (plan.steps[d.step].id.clone(), d.kind))
        .collect()
}

fn ids(plan: &Plan, list: &[usize]) -> Vec<String> {
    list.iter().map(|&i| plan.steps[i].id.clone()).collect()
}

#[test]
fn split_module_levels_and_critical_path() {
    let w = load("workflows/split-module.yaml").unwrap();
    let plan = Plan::build(&w).unwrap();
    let levels: Vec<Vec<String>> = plan.levels.iter().map(|l| ids(&plan, l)).collect();
    assert_eq!(
        levels,
        vec![vec!["survey"], vec!["plan"], vec!["split"], vec!["verify"]]
    );
    assert_eq!(
        ids(&plan, &plan.critical_path),
        vec!["survey", "plan", "split", "verify"]
    );
    assert_eq!(
        deps(&plan, "verify"),
        vec![
            ("plan".into(), EdgeKind::Reference),
            ("split".into(), EdgeKind::Needs)
        ]
    );
}

#[test]
fn steps_on_a_named_thread_run_in_dag_order_with_file_order_breaking_ties() {
    let w = workflow(
        "threads:\n  t: {}\nsteps:\n  late: { prompt: p, thread: t, needs: [early] }\n  early: { prompt: p, thread: t }\n  other: { prompt: p, thread: t }\n",
    );
    let plan = Plan::build(&w).unwrap();
    assert_eq!(ids(&plan, &plan.order), vec!["early", "late", "other"]);
    assert_eq!(
        deps(&plan, "other"),
        vec![("late".into(), EdgeKind::ThreadOrder)]
    );
}

#[test]
fn forks_see_the_thread_after_their_upstream_steps_and_run_in_parallel() {
    let w = load("workflows/triage-failure.yaml").unwrap();
    let plan = Plan::build(&w).unwrap();
    let check = plan.step("check").unwrap();
    assert_eq!(
        check.thread,
        ThreadPlan::Fork {
            name: "investigator".into(),
            after: Some(0)
        }
    );
    let w = workflow(
        "threads:\n  t: {}\nsteps:\n  a: { prompt: p, thread: t }\n  f1: { prompt: p, fork: t, needs: [a] }\n  f2: { prompt: p, fork: t, needs: [a] }\n  b: { prompt: p, thread: t }\n",
    );
    let plan = Plan::build(&w).unwrap();
    assert_eq!(ids(&plan, &plan.levels[1]), vec!["f1", "f2"]);
    assert_eq!(
        deps(&plan, "b"),
        vec![
            ("a".into(), EdgeKind::ThreadOrder),
            ("f1".into(), EdgeKind::Fork),
            ("f2".into(), EdgeKind::Fork)
        ]
    );
}

#[test]
fn effective_policies_default_to_read_only_and_never() {
    let w = workflow("steps:\n  a: { prompt: p }\n");
    let plan = Plan::build(&w).unwrap();
    let p = &plan.steps[0].policies;
    assert_eq!(
        (p.sandbox, p.approval, p.retries, p.timeout),
        (Sandbox::ReadOnly, Approval::Never, 0, None)
    );
    assert!(!approves_command(&p.approvals, "ls"));
}

#[test]
fn defaults_then_thread_then_step() {
    let w = workflow(
        "defaults: { model: m1, sandbox: workspace-write, timeout: 1m, retries: 2, approvals: { commands: [ls] } }\nthreads:\n  t: { model: m2, timeout: 2m, developer_instructions: hi }\nsteps:\n  a: { prompt: p, thread: t, retries: 5, approvals: { files: [\"*.md\"] } }\n  b: { prompt: p }\n",
    );
    let plan = Plan::build(&w).unwrap();
    let a = &plan.step("a").unwrap().policies;
    assert_eq!(a.model.as_deref(), Some("m2"));
    assert_eq!(
        (a.sandbox, a.timeout, a.retries),
        (Sandbox::WorkspaceWrite, Some(Duration::from_secs(120)), 5)
    );
    assert_eq!(a.developer_instructions.as_deref(), Some("hi"));
    assert!(approves_command(&a.approvals, "ls") && approves_file(&a.approvals, "README.md"));
    let b = &plan.step("b").unwrap().policies;
    assert_eq!(
        (b.model.as_deref(), b.timeout),
        (Some("m1"), Some(Duration::from_secs(60)))
    );
}

#[test]
fn renderers_produce_mermaid_dot_and_json() {
    let w = load("workflows/split-module.yaml").unwrap();
    let plan = Plan::build(&w).unwrap();
    let mermaid = render(&plan, &w, Format::Mermaid);
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert!(
        mermaid.contains("  step_survey -.->|thread| step_plan\n")
            || mermaid.contains("  step_survey --> step_plan\n"),
        "{mermaid}"
    );
    let dot = render(&plan, &w, Format::Dot);
    assert!(dot.contains("\"plan\" -> \"split\";"), "{dot}");
    let json: serde_json::Value = serde_json::from_str(&render(&plan, &w, Format::Json)).unwrap();
    assert_eq!(
        json["critical_path"],
        serde_json::json!(["survey", "plan", "split", "verify"])
    );
    assert_eq!(json["steps"][0]["policies"]["sandbox"], "read-only");
    assert_eq!(json["steps"][2]["for_each"], "steps.plan.output.files");
}

#[test]
fn text_plan_of_the_split_module_example() {
    let w = load("workflows/split-module.yaml").unwrap();
    let plan = Plan::build(&w).unwrap();
    insta::assert_snapshot!(render(&plan, &w, Format::Text));
}

#[test]
fn the_text_plan_shows_fail_if_and_an_empty_approval_list_as_nothing() {
    let yaml = "steps:\n  r:\n    prompt: p\n    approvals: { commands: [] }\n    fail_if: output == 'bad'\n";
    let w = weft::workflow::load_str("w.yaml", yaml, std::path::Path::new(".")).unwrap();
    let text = render(&Plan::build(&w).unwrap(), &w, Format::Text);
    assert!(text.contains("    approves  commands nothing\n"), "{text}");
    assert!(text.contains("    fail_if   output == 'bad'\n"), "{text}");
    let json = render(&Plan::build(&w).unwrap(), &w, Format::Json);
    assert!(json.contains("\"fail_if\": \"output == 'bad'\""), "{json}");
}

#[test]
fn mermaid_node_ids_cannot_clash_with_mermaid_keywords() {
    let yaml = "steps:\n  end: { prompt: p }\n  style: { prompt: \"{{ steps.end.output }}\" }\n";
    let w = weft::workflow::load_str("w.yaml", yaml, std::path::Path::new(".")).unwrap();
    let mermaid = render(&Plan::build(&w).unwrap(), &w, Format::Mermaid);
    assert_eq!(
        mermaid,
        "flowchart TD\n  step_end[\"end<br/>fresh\"]\n  step_style[\"style<br/>fresh\"]\n  step_end --> step_style\n  classDef critical stroke-width:3px\n  class step_end,step_style critical\n"
    );
}
