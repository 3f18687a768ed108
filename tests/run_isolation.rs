//! Isolated steps end to end, through the real app-server and the mock model in a real
//! git repository: each `for_each` element edits a worktree of its own, the patches come
//! back merged in element order, conflicts fail the step (or a repair step resolves
//! them), `writes` is checked on what really changed, Ctrl-C and a killed run leave no
//! worktree behind, and a resumed run does not apply a patch twice.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use support::cli::{command, json_stdout, record, run_ids, stderr, step_entry, weft, write};
use support::{TestEnv, wait_until, within_for};
use weft::mock::{MockReply, MockRequest};

const NOTES: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n";

/// `git ARGS` in `dir`; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The work directory as a repository with `notes.txt` and `src/` committed.
fn repo(env: &TestEnv) {
    let work = env.work();
    std::fs::create_dir_all(work.join("src")).expect("mkdir");
    std::fs::write(work.join("notes.txt"), NOTES).expect("write");
    std::fs::write(work.join("src/keep.txt"), "keep\n").expect("write");
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "init"]);
}

/// The worktrees of the repository besides the main one.
fn extra_worktrees(dir: &Path) -> Vec<String> {
    git(dir, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The prompt, and how many tool calls the turn has made so far.
fn turn(request: &MockRequest) -> (String, usize) {
    let input = request.input();
    let start = input.iter().rposition(|i| i["role"] == "user").unwrap_or(0);
    let calls = input[start..]
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .count();
    (request.last_user_text().unwrap_or_default(), calls)
}

/// Runs `cmd` first, then says `done`.
fn run_then_done(calls: usize, cmd: String) -> MockReply {
    match calls {
        0 => MockReply::command(cmd),
        _ => MockReply::text("done"),
    }
}

const FOUR_FILES: &str = r#"
steps:
  edit:
    for_each: '["a", "b", "c", "d"]'
    isolation: worktree
    sandbox: workspace-write
    writes: ["src/*.txt"]
    prompt: "EDIT {{ item }}"
"#;

#[tokio::test]
async fn four_elements_edit_four_files_and_all_four_changes_reach_the_tree() {
    let env = TestEnv::start(|r| {
        let (prompt, calls) = turn(r);
        let item = prompt.trim_start_matches("EDIT ").to_string();
        let reply = run_then_done(calls, format!("printf '{item}\\n' > src/{item}.txt"));
        match item.as_str() {
            "a" => MockReply::Delayed(Duration::from_millis(800), Box::new(reply)),
            _ => reply,
        }
    })
    .await;
    repo(&env);
    let file = write(&env.work(), "four.yaml", FOUR_FILES);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    for item in ["a", "b", "c", "d"] {
        let text =
            std::fs::read_to_string(env.work().join(format!("src/{item}.txt"))).unwrap_or_default();
        assert_eq!(text, format!("{item}\n"));
    }
    let patch = &report["steps"]["edit"]["patch"];
    let files: Vec<&str> = patch["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["src/a.txt", "src/b.txt", "src/c.txt", "src/d.txt"]);
    assert_eq!(extra_worktrees(&env.work()), Vec::<String>::new());
    assert_eq!(
        git(&env.work(), &["diff", "--cached", "--name-only"]),
        "",
        "the index is untouched"
    );
    assert_eq!(
        git(&env.work(), &["log", "--oneline"]).lines().count(),
        1,
        "no commit on the branch"
    );

    let id = run_ids(&env).pop().expect("a run");
    let shown = weft(&env, &["runs", "show", &id, "edit", "--patch"]).await;
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        text.contains("+++ b/src/c.txt"),
        "{text}\n{}",
        stderr(&shown)
    );
    let patch_file = env.dir.path().join("edit.patch");
    std::fs::write(&patch_file, &text).expect("write");
    git(
        &env.work(),
        &["apply", "--check", "-R", &patch_file.display().to_string()],
    );
    let one = weft(
        &env,
        &["runs", "show", &id, "edit", "--patch", "--element", "2"],
    )
    .await;
    let one = String::from_utf8_lossy(&one.stdout).into_owned();
    assert!(
        one.contains("+++ b/src/c.txt") && !one.contains("src/a.txt"),
        "{one}"
    );
}

fn same_line_model(repair: bool) -> impl Fn(&MockRequest) -> MockReply {
    move |r| {
        let (prompt, calls) = turn(r);
        if let Some(files) = prompt.strip_prefix("RESOLVE ") {
            assert!(repair, "no repair was asked for");
            assert!(files.starts_with("notes.txt;"), "{files}");
            let both = NOTES.replace("two\n", "TWO from 0 and 1\n");
            return run_then_done(
                calls,
                format!("printf '{}' > notes.txt", both.replace('\n', "\\n")),
            );
        }
        if prompt == "AFTER" {
            return MockReply::text("after");
        }
        let n = prompt.trim_start_matches("LINE ");
        let edited = NOTES.replace("two\n", &format!("two by {n}\n"));
        let reply = run_then_done(
            calls,
            format!("printf '{}' > notes.txt", edited.replace('\n', "\\n")),
        );
        match n {
            "0" => MockReply::Delayed(Duration::from_millis(800), Box::new(reply)),
            _ => reply,
        }
    }
}

const SAME_LINE: &str = r#"
steps:
  edit:
    for_each: "[0, 1]"
    isolation: worktree
    sandbox: workspace-write
    prompt: "LINE {{ item }}"
"#;

#[tokio::test]
async fn elements_editing_the_same_lines_conflict_and_the_step_fails_naming_the_file() {
    let env = TestEnv::start(same_line_model(false)).await;
    repo(&env);
    let file = write(&env.work(), "same.yaml", SAME_LINE);
    let junit = env.dir.path().join("junit.xml");
    let junit_arg = junit.display().to_string();
    let out = weft(&env, &["run", &file, "--junit", &junit_arg]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let xml = std::fs::read_to_string(&junit).expect("junit.xml");
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit");
    let mut cases: Vec<(&str, bool)> = report.test_suites[0]
        .test_cases
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                matches!(c.status, quick_junit::TestCaseStatus::Success { .. }),
            )
        })
        .collect();
    cases.sort();
    assert_eq!(
        cases,
        [("edit", false), ("edit[0]", true), ("edit[1]", true)],
        "{xml}"
    );
    assert!(
        err.contains("error: step `edit` failed: its patches conflict:\nelement 1 conflicts in `notes.txt` (hunk @@ -1,5 +1,5 @@) with element 0"),
        "{err}"
    );
    let id = run_ids(&env).pop().expect("a run");
    let kept =
        format!("nothing was applied; every element's patch is kept in `.weft/runs/{id}/patches`");
    assert!(err.contains(&kept), "{err}");
    let notes = std::fs::read_to_string(env.work().join("notes.txt")).expect("read");
    assert_eq!(notes, NOTES, "the working tree is untouched");
    assert_eq!(extra_worktrees(&env.work()), Vec::<String>::new());
}

#[tokio::test]
async fn a_repair_step_resolves_the_conflict_and_the_run_goes_on() {
    let env = TestEnv::start(same_line_model(true)).await;
    repo(&env);
    let workflow = format!(
        "{SAME_LINE}    on_conflict: fix\n  fix:\n    sandbox: workspace-write\n    prompt: \"RESOLVE {{{{ conflict.files | join(',') }}}}; {{{{ conflict.message }}}}\"\n  after:\n    needs: [edit]\n    prompt: AFTER\n"
    );
    let file = write(&env.work(), "repair.yaml", &workflow);
    let out = weft(&env, &["run", &file, "--output", "json"]).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["steps"]["edit"]["status"], "succeeded");
    assert_eq!(report["steps"]["fix"]["status"], "succeeded");
    assert_eq!(report["steps"]["after"]["status"], "succeeded");
    let notes = std::fs::read_to_string(env.work().join("notes.txt")).expect("read");
    assert_eq!(notes, NOTES.replace("two\n", "TWO from 0 and 1\n"));
    let prompts: Vec<String> = env.mock.requests().iter().map(|r| turn(r).0).collect();
    let fix = prompts
        .iter()
        .find(|p| p.starts_with("RESOLVE"))
        .expect("the repair ran");
    assert!(fix.contains("element 1 conflicts in `notes.txt`"), "{fix}");
    assert_eq!(extra_worktrees(&env.work()), Vec::<String>::new());
}

#[tokio::test]
async fn a_write_outside_writes_fails_the_step_and_leaves_the_tree_untouched() {
    let env = TestEnv::start(|r| {
        let (_, calls) = turn(r);
        run_then_done(
            calls,
            "printf 'x\\n' > src/new.txt && printf 'y\\n' >> notes.txt".into(),
        )
    })
    .await;
    repo(&env);
    let file = write(
        &env.work(),
        "scope.yaml",
        "steps:\n  edit:\n    isolation: worktree\n    sandbox: workspace-write\n    writes: ['src/**']\n    prompt: EDIT\n",
    );
    let out = weft(&env, &["run", &file]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: step `edit` failed: changed files outside `writes` (`src/**`): `notes.txt`; they were discarded with its worktree"),
        "{err}"
    );
    assert!(
        !env.work().join("src/new.txt").exists(),
        "nothing came back"
    );
    let notes = std::fs::read_to_string(env.work().join("notes.txt")).expect("read");
    assert_eq!(notes, NOTES);
}

#[tokio::test]
async fn ctrl_c_in_the_middle_of_a_fan_out_leaves_no_worktree_and_resume_applies_once() {
    let stall = Arc::new(AtomicBool::new(true));
    let stalling = stall.clone();
    let env = TestEnv::start(move |r| {
        let (prompt, calls) = turn(r);
        let item = prompt.trim_start_matches("EDIT ").to_string();
        let stalls = item != "a" && stalling.load(Ordering::SeqCst);
        match calls {
            0 => MockReply::command(format!("printf '{item}\\n' >> src/{item}.txt")),
            _ if stalls => MockReply::Stall,
            _ => MockReply::text("done"),
        }
    })
    .await;
    repo(&env);
    let file = write(&env.work(), "four.yaml", FOUR_FILES);
    let mut cmd = command(&env, &["run", &file]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn weft");
    let mock = &env.mock;
    let work = env.work();
    // Element `a` (index 0) is finished once its record says so: its line in the step's
    // element log.
    let a_recorded = || {
        run_ids(&env).iter().any(|id| {
            let log = work.join(format!(".weft/runs/{id}/elements/edit.jsonl"));
            std::fs::read_to_string(log).is_ok_and(|text| {
                text.lines()
                    .any(|l| l.contains("\"index\":0,") && l.contains("\"status\":\"succeeded\""))
            })
        })
    };
    wait_until(Duration::from_secs(60), || {
        let requests = mock.requests();
        let stalled = requests
            .iter()
            .filter(|r| turn(r).1 == 1 && turn(r).0 != "EDIT a");
        stalled.count() == 3 && a_recorded()
    })
    .await;
    let trees = extra_worktrees(&work).len();
    assert!(trees >= 3, "the stalled elements have their trees: {trees}");
    support::send_signal(child.id().expect("pid"), libc::SIGINT);
    let status = within_for(Duration::from_secs(60), child.wait())
        .await
        .expect("weft exits");
    assert_eq!(status.code(), Some(130));
    assert_eq!(extra_worktrees(&work), Vec::<String>::new());
    let left: Vec<_> = std::fs::read_dir(env.tmp())
        .expect("tmp")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("weft-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        !work.join("src/a.txt").exists(),
        "an interrupted step brings nothing back"
    );

    stall.store(false, Ordering::SeqCst);
    let id = run_ids(&env).pop().expect("a run");
    let sent_a = || {
        mock.requests()
            .iter()
            .filter(|r| turn(r) == ("EDIT a".to_string(), 0))
            .count()
    };
    assert_eq!(sent_a(), 1);
    let out = weft(&env, &["resume", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[edit] 1 element succeeded in an earlier session (kept)\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sent_a(),
        1,
        "the finished element is kept, its patch with it"
    );
    for item in ["a", "b", "c", "d"] {
        let text =
            std::fs::read_to_string(work.join(format!("src/{item}.txt"))).unwrap_or_default();
        assert_eq!(text, format!("{item}\n"), "each change arrives once");
    }
}

#[tokio::test]
async fn a_resumed_run_does_not_apply_a_patch_twice() {
    let fail = Arc::new(AtomicBool::new(true));
    let failing = fail.clone();
    let env = TestEnv::start(move |r| {
        let (prompt, calls) = turn(r);
        if prompt == "CHECK" && failing.load(Ordering::SeqCst) {
            return MockReply::Error {
                status: 400,
                body: serde_json::json!({"error": {"message": "no"}}),
            };
        }
        match prompt.as_str() {
            "APPEND" => run_then_done(calls, "printf 'appended\\n' >> notes.txt".into()),
            _ => MockReply::text("checked"),
        }
    })
    .await;
    repo(&env);
    let file = write(
        &env.work(),
        "twice.yaml",
        "steps:\n  append:\n    isolation: worktree\n    sandbox: workspace-write\n    prompt: APPEND\n  check:\n    needs: [append]\n    prompt: CHECK\n",
    );
    let out = weft(&env, &["run", &file]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let once = format!("{NOTES}appended\n");
    assert_eq!(
        std::fs::read_to_string(env.work().join("notes.txt")).expect("read"),
        once
    );
    let id = run_ids(&env).pop().expect("a run");
    let saved = record(&env, &id);
    let patch = step_entry(&saved, "append")["patch"]["file"]
        .as_str()
        .expect("a patch")
        .to_string();
    assert!(
        env.work()
            .join(".weft/runs")
            .join(&id)
            .join(&patch)
            .is_file()
    );

    fail.store(false, Ordering::SeqCst);
    let out = weft(&env, &["resume", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[append] succeeded in an earlier session (kept)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(env.work().join("notes.txt")).expect("read"),
        once,
        "applied once"
    );
}

#[tokio::test]
async fn isolation_outside_a_git_repository_is_a_validation_error() {
    let env = TestEnv::start(|_| MockReply::text("never asked")).await;
    let file = write(
        &env.work(),
        "iso.yaml",
        "steps:\n  edit:\n    isolation: worktree\n    prompt: EDIT\n",
    );
    for args in [vec!["validate", file.as_str()], vec!["run", file.as_str()]] {
        let out = weft(&env, &args).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(
                "error: step `edit` runs in a git worktree (`isolation: worktree`), but `"
            ),
            "{err}"
        );
        assert!(
            err.contains("` is not inside a git repository\n --> "),
            "{err}"
        );
        assert!(err.contains("iso.yaml:3:16"), "{err}");
    }
    assert!(env.mock.requests().is_empty());
}

#[tokio::test]
async fn worktrees_a_killed_run_left_are_removed_by_the_next_run() {
    let env = TestEnv::start(|r| run_then_done(turn(r).1, "true".into())).await;
    repo(&env);
    let mut gone = Command::new("true").spawn().expect("spawn");
    let dead = gone.id();
    gone.wait().expect("wait");
    let leftover = env
        .tmp()
        .join(format!("weft-{dead}-20260101-000000-abcd-edit"));
    git(
        &env.work(),
        &[
            "worktree",
            "add",
            "--detach",
            "-q",
            &leftover.display().to_string(),
        ],
    );
    let mine = env.tmp().join("my-own-feature");
    git(
        &env.work(),
        &[
            "worktree",
            "add",
            "--detach",
            "-q",
            &mine.display().to_string(),
        ],
    );
    let file = write(
        &env.work(),
        "one.yaml",
        "steps:\n  edit:\n    isolation: worktree\n    prompt: EDIT\n",
    );
    let out = weft(&env, &["run", &file]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("note: removed worktree `"), "{err}");
    assert!(!leftover.exists());
    let left = extra_worktrees(&env.work());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with("my-own-feature"), "{left:?}");
}
