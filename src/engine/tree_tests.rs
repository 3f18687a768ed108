//! Engine tests of isolated steps over the in-process fake agent and a real git
//! repository: worktrees per element, patches merged in element order, conflicts, repair
//! steps, `writes`, and no worktree left behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pretty_assertions::assert_eq;
use tokio::sync::{Notify, watch};

use super::event::{RunEvent, Status};
use super::fake::{FakeAgent, FakeTurn};
use super::spec::{RunSpec, StepSpec};
use super::tree::TreeSetup;
use super::{RunReport, Seed, SeedElement, StepRecord, execute, execute_seeded};
use crate::git::{Git, Repo};
use crate::vocab::Isolation;

const LINES: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

/// A repository with `f.txt` (ten lines) committed, and a setup of trees for it.
fn repo() -> (tempfile::TempDir, Repo, TreeSetup) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    Git::new(&root).args(["init", "-q"]).output().unwrap();
    std::fs::write(root.join("f.txt"), LINES).unwrap();
    Git::new(&root).args(["add", "-A"]).output().unwrap();
    Git::new(&root)
        .args(["commit", "-qm", "init"])
        .output()
        .unwrap();
    let repo = Repo::discover(&root).unwrap().unwrap();
    let setup = TreeSetup {
        repo: Some(repo.clone()),
        record: dir.path().join("record"),
        shown: dir.path().join("record"),
        worktrees: dir.path().to_path_buf(),
        own: Vec::new(),
        run_id: "r1".into(),
    };
    (dir, repo, setup)
}

fn spec(steps: Vec<StepSpec>, setup: Option<TreeSetup>) -> RunSpec {
    RunSpec {
        tree: setup,
        ..RunSpec::new("trees", "r1", steps)
    }
}

/// A fan-out step over `items`, isolated, in `cwd`.
fn isolated(id: &str, items: &str, cwd: &Path) -> StepSpec {
    let mut s = StepSpec::new(id, "edit {{ item }}");
    s.for_each = Some(items.into());
    s.isolation = Isolation::Worktree;
    s.cwd = cwd.to_path_buf();
    s
}

async fn run(agent: FakeAgent, spec: RunSpec) -> (RunReport, Vec<RunEvent>) {
    run_in_reverse(agent, spec, &Reverse::new(0)).await
}

/// Runs `spec`, letting each fan-out element finish only after the next one did.
async fn run_in_reverse(
    agent: FakeAgent,
    spec: RunSpec,
    order: &Reverse,
) -> (RunReport, Vec<RunEvent>) {
    let (_tx, rx) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| {
        if let RunEvent::StepFinished { index: Some(n), .. } = e {
            order.finished(*n);
        }
        events.push(e.clone());
    };
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        execute(Arc::new(agent), spec, rx, &mut sink),
    )
    .await
    .expect("the run finished");
    (report, events)
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_default()
}

/// Makes `n` fan-out elements finish last to first, whatever their speed: element `k`
/// of "edit K" waits until element `k + 1` has finished.
#[derive(Clone)]
struct Reverse(Arc<Vec<Arc<Notify>>>);

impl Reverse {
    fn new(n: usize) -> Self {
        Reverse(Arc::new((0..n).map(|_| Arc::new(Notify::new())).collect()))
    }

    /// Element `n` of "edit N" (`n`), ending after element `n + 1`.
    fn turn(&self, input: &str) -> (usize, FakeTurn) {
        let turn = FakeTurn::answer("done");
        let Some(Ok(n)) = input.strip_prefix("edit ").map(str::parse::<usize>) else {
            return (usize::MAX, turn);
        };
        match self.0.get(n + 1) {
            Some(_) => (n, turn.after(self.0[n].clone())),
            None => (n, turn),
        }
    }

    fn finished(&self, n: usize) {
        if let Some(before) = n.checked_sub(1).and_then(|b| self.0.get(b)) {
            before.notify_one();
        }
    }
}

#[tokio::test]
async fn four_elements_edit_four_files_and_all_four_changes_arrive() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let order = Reverse::new(4);
    let script = order.clone();
    let agent = FakeAgent::new(move |t| {
        let (n, turn) = script.turn(&t.input);
        turn.edit(&format!("part{n}.txt"), &format!("part {n}\n"))
    });
    let step = isolated("split", "[0, 1, 2, 3]", &root);
    let (report, events) =
        run_in_reverse(agent, spec(vec![step], Some(setup.clone())), &order).await;
    assert_eq!(
        report.steps[0].status,
        Status::Succeeded,
        "{:?}",
        report.steps[0].error
    );
    for n in 0..4 {
        assert_eq!(read(&root, &format!("part{n}.txt")), format!("part {n}\n"));
    }
    let patch = report.steps[0].patch.clone().expect("the step's patch");
    let files: Vec<&str> = patch.paths().collect();
    assert_eq!(files, ["part0.txt", "part1.txt", "part2.txt", "part3.txt"]);
    assert!(setup.record.join(&patch.file).is_file());
    let finished: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepFinished {
                index: Some(i),
                patch: Some(_),
                ..
            } => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(finished, [3, 2, 1, 0], "they finished in reverse order");
    assert!(repo.worktrees().unwrap().is_empty(), "no worktree is left");
    let staged = Git::new(&root)
        .args(["diff", "--cached", "--name-only"])
        .text()
        .unwrap();
    assert_eq!(staged, "", "the user's index is untouched");
}

/// Two elements that rewrite line 2 of `f.txt`, element 0 finishing last; a repair
/// that resolves it ("Resolve …") or leaves it ("Leave …").
fn same_line(order: &Reverse) -> FakeAgent {
    FakeAgent::new(same_line_script(order))
}

fn same_line_script(
    order: &Reverse,
) -> impl Fn(&super::agent::TurnSpec) -> FakeTurn + Send + Sync + 'static {
    let order = order.clone();
    move |t| {
        if t.input.starts_with("Leave") {
            return FakeTurn::answer("left as it is");
        }
        if t.input.starts_with("Resolve") {
            let both = LINES.replace("two\n", "TWO (both)\n");
            return FakeTurn::answer("resolved").edit("f.txt", &both);
        }
        let (n, turn) = order.turn(&t.input);
        turn.edit("f.txt", &LINES.replace("two\n", &format!("two by {n}\n")))
    }
}

#[tokio::test]
async fn elements_editing_the_same_lines_conflict_and_nothing_is_applied() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let step = isolated("split", "[0, 1]", &root);
    let order = Reverse::new(2);
    let (report, _) =
        run_in_reverse(same_line(&order), spec(vec![step], Some(setup)), &order).await;
    let rec = &report.steps[0];
    assert_eq!(rec.status, Status::Failed);
    let error = rec.error.clone().unwrap();
    assert!(
        error.contains("element 1 conflicts in `f.txt` (hunk @@ -1,5 +1,5 @@) with element 0"),
        "{error}"
    );
    assert!(error.contains("nothing was applied"), "{error}");
    assert_eq!(read(&root, "f.txt"), LINES, "the working tree is untouched");
    assert!(repo.worktrees().unwrap().is_empty());
}

#[tokio::test]
async fn a_repair_step_resolves_the_conflict_in_the_merge_tree() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let mut split = isolated("split", "[0, 1]", &root);
    split.on_conflict = Some(1);
    let mut fix = StepSpec::new(
        "fix",
        "Resolve {{ conflict.files | join(',') }} of {{ conflict.step }}: {{ conflict.patches | length }}",
    );
    fix.upstream = vec![0];
    fix.repairs = Some(0);
    fix.cwd = root.clone();
    let mut after = StepSpec::new("after", "after");
    after.upstream = vec![0];
    let order = Reverse::new(2);
    let agent = Arc::new(same_line(&order));
    let (_tx, rx) = watch::channel(false);
    let mut sink = |e: &RunEvent| {
        if let RunEvent::StepFinished { index: Some(n), .. } = e {
            order.finished(*n);
        }
    };
    let s = spec(vec![split, fix, after], Some(setup));
    let run = execute(agent.clone(), s, rx, &mut sink);
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("finished");
    let status = |id: &str| {
        report
            .steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| (s.status, s.error.clone()))
    };
    assert_eq!(status("split"), Some((Status::Succeeded, None)));
    assert_eq!(status("fix"), Some((Status::Succeeded, None)));
    assert_eq!(status("after"), Some((Status::Succeeded, None)));
    assert_eq!(read(&root, "f.txt"), LINES.replace("two\n", "TWO (both)\n"));
    let prompts: Vec<String> = agent.turns().into_iter().map(|t| t.input).collect();
    assert!(
        prompts.contains(&"Resolve f.txt of split: 1".to_string()),
        "{prompts:?}"
    );
    assert_eq!(
        prompts.last().map(String::as_str),
        Some("after"),
        "`after` waits for the repair"
    );
    assert!(repo.worktrees().unwrap().is_empty());
}

#[tokio::test]
async fn a_repair_that_leaves_conflict_markers_fails_the_step() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let mut split = isolated("split", "[0, 1]", &root);
    split.on_conflict = Some(1);
    let mut fix = StepSpec::new("fix", "Leave it");
    fix.upstream = vec![0];
    fix.repairs = Some(0);
    fix.cwd = root.clone();
    let order = Reverse::new(2);
    let (report, _) = run_in_reverse(
        same_line(&order),
        spec(vec![split, fix], Some(setup)),
        &order,
    )
    .await;
    let error = report.steps[0].error.clone().unwrap_or_default();
    assert_eq!(report.steps[0].status, Status::Failed);
    assert!(
        error.contains("repair step `fix` left conflict markers (`f.txt:2`"),
        "{error}"
    );
    assert_eq!(read(&root, "f.txt"), LINES);
    assert!(repo.worktrees().unwrap().is_empty());
}

#[tokio::test]
async fn a_write_outside_writes_fails_the_element_and_never_reaches_the_tree() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let agent = FakeAgent::new(|_| {
        FakeTurn::answer("x")
            .edit("src/ok.rs", "ok")
            .edit("Cargo.toml", "no")
    });
    let mut step = isolated("split", "[0]", &root);
    step.writes = Some(vec!["src/**".into()]);
    let (report, _) = run(agent, spec(vec![step], Some(setup))).await;
    let error = report.steps[0].error.clone().unwrap_or_default();
    assert_eq!(report.steps[0].status, Status::Failed);
    assert!(
        error.contains("changed files outside `writes` (`src/**`): `Cargo.toml`"),
        "{error}"
    );
    assert!(!root.join("src/ok.rs").exists() && !root.join("Cargo.toml").exists());
}

#[tokio::test]
async fn writes_in_the_shared_tree_are_checked_in_git_and_outside_it() {
    let (dir, repo, setup) = repo();
    let agent = || FakeAgent::new(|_| FakeTurn::answer("x").edit("notes.md", "n"));
    let mut step = StepSpec::new("edit", "edit");
    step.writes = Some(vec!["src/**".into()]);
    step.cwd = repo.root().to_path_buf();
    let (report, _) = run(agent(), spec(vec![step.clone()], Some(setup))).await;
    let error = report.steps[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("outside `writes` (`src/**`): `notes.md`; they stay"),
        "{error}"
    );
    assert_eq!(
        report.steps[0].patch.as_ref().map(|p| p.files.len()),
        Some(1)
    );
    let plain: PathBuf = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    step.cwd = plain.clone();
    let (report, _) = run(agent(), spec(vec![step], None)).await;
    let error = report.steps[0].error.clone().unwrap_or_default();
    assert!(error.contains("`notes.md`"), "{error}");
    step_ok_within(&plain).await;
}

/// A step whose writes all match passes, outside git too.
async fn step_ok_within(dir: &Path) {
    let agent = FakeAgent::new(|_| FakeTurn::answer("x").edit("src/a.rs", "a"));
    let mut step = StepSpec::new("edit", "edit");
    step.writes = Some(vec!["src/**".into()]);
    step.cwd = dir.to_path_buf();
    let (report, _) = run(agent, spec(vec![step], None)).await;
    assert_eq!(
        report.steps[0].status,
        Status::Succeeded,
        "{:?}",
        report.steps[0].error
    );
}

#[tokio::test]
async fn interrupting_a_fan_out_leaves_no_worktree_and_changes_nothing() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let agent = FakeAgent::new(|t| {
        let n: u64 = t.input.trim_start_matches("edit ").parse().unwrap_or(0);
        FakeTurn::answer("x")
            .edit(&format!("p{n}.txt"), "p")
            .slow(Duration::from_secs(if n == 0 { 0 } else { 600 }))
    });
    let step = isolated("split", "[0, 1, 2]", &root);
    let (tx, rx) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &RunEvent| {
        if matches!(e, RunEvent::StepFinished { index: Some(0), .. }) {
            let _ = tx.send(true);
        }
        events.push(e.clone());
    };
    let s = spec(vec![step], Some(setup));
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        execute(Arc::new(agent), s, rx, &mut sink),
    )
    .await
    .expect("the run finished");
    assert_eq!(report.steps[0].status, Status::Interrupted);
    assert!(
        repo.worktrees().unwrap().is_empty(),
        "{:?}",
        repo.worktrees()
    );
    assert!(
        !root.join("p0.txt").exists(),
        "an interrupted step brings nothing back"
    );
}

#[tokio::test]
async fn a_failed_repair_fails_the_step_and_discards_the_merge_tree() {
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let mut split = isolated("split", "[0, 1]", &root);
    split.on_conflict = Some(1);
    let mut fix = StepSpec::new("fix", "Broken {{ conflict.step }}");
    fix.upstream = vec![0];
    fix.repairs = Some(0);
    fix.cwd = root.clone();
    let order = Reverse::new(2);
    let edits = same_line_script(&order);
    let agent = FakeAgent::new(move |t| {
        if t.input.starts_with("Broken") {
            return FakeTurn {
                end: super::agent::TurnEnd::Failed {
                    message: "no idea".into(),
                    retryable: false,
                },
                ..FakeTurn::answer("")
            };
        }
        edits(t)
    });
    let s = spec(vec![split, fix], Some(setup));
    let (report, _) = run_in_reverse(agent, s, &order).await;
    let error = report.steps[0].error.clone().unwrap_or_default();
    assert_eq!(report.steps[0].status, Status::Failed);
    assert!(
        error.contains("repair step `fix` failed: the turn failed: no idea"),
        "{error}"
    );
    assert_eq!(report.steps[1].status, Status::Failed);
    assert_eq!(read(&root, "f.txt"), LINES);
    assert!(repo.worktrees().unwrap().is_empty());
}

/// The elements a run reported finished, as a resumed run is seeded with them.
fn finished_elements(events: &[RunEvent]) -> Vec<SeedElement> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepFinished {
                step,
                index: Some(i),
                status: Status::Succeeded,
                output,
                patch,
                ..
            } => {
                let mut record = StepRecord::early(step, Status::Succeeded, String::new());
                record.error = None;
                record.output = output.clone().unwrap_or_default();
                record.patch = patch.as_deref().cloned();
                Some(SeedElement {
                    step: step.clone(),
                    index: *i,
                    record,
                    item: Some(serde_json::json!(i)),
                })
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_resume_after_the_patches_reached_the_tree_applies_nothing_twice() {
    // A run killed after its fan-out's patches were applied, before it could save that
    // the step succeeded: resumed, it keeps the elements (their patches) and merges them
    // again; the tree has them already, so they count as applied, and nothing is doubled.
    let (_dir, repo, setup) = repo();
    let root = repo.root().to_path_buf();
    let agent = FakeAgent::new(|t| {
        let n = t.input.trim_start_matches("edit ");
        FakeTurn::answer("done").edit("f.txt", &format!("{LINES}added by {n}\n"))
    });
    let step = isolated("split", "[0]", &root);
    let (report, events) = run(agent, spec(vec![step.clone()], Some(setup.clone()))).await;
    assert_eq!(report.steps[0].status, Status::Succeeded);
    let once = format!("{LINES}added by 0\n");
    assert_eq!(read(&root, "f.txt"), once);

    let idle = Arc::new(FakeAgent::new(|_| FakeTurn::answer("never")));
    let seed = Seed {
        elements: finished_elements(&events),
        ..Seed::default()
    };
    let (_tx, rx) = watch::channel(false);
    let mut sink = |_: &RunEvent| {};
    let again = spec(vec![step], Some(setup));
    let report = execute_seeded(idle.clone(), again, seed, rx, &mut sink).await;
    assert_eq!(
        report.steps[0].status,
        Status::Succeeded,
        "{:?}",
        report.steps[0].error
    );
    assert!(idle.turns().is_empty(), "the element is kept");
    assert_eq!(read(&root, "f.txt"), once, "applied once");
}
