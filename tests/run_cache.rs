//! The result cache end to end, through the real app-server and the mock model in a real
//! git repository: a second unchanged run sends no model request and reports its steps
//! cached; an edited prompt in the middle of the DAG sends only that step and its
//! dependents; a file-changing isolated step is served with its patch applied, and runs
//! again when its patch no longer applies; `--no-cache` ignores the cache and `weft
//! cache prune` empties it.

mod support;

use std::path::Path;
use std::process::Command;

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::TestEnv;
use support::cli::{json_stdout, stderr, weft, write};
use weft::mock::{MockReply, MockRequest};

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
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The work directory as a repository with `notes.txt` committed.
fn repo(env: &TestEnv) {
    let work = env.work();
    std::fs::write(work.join("notes.txt"), "notes\n").expect("write");
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "init"]);
}

/// Answers every turn with `out:` and its prompt, so that a changed prompt changes the
/// output (and the prompts of the steps that read it).
fn echo(request: &MockRequest) -> MockReply {
    let prompt = request.last_user_text().unwrap_or_default();
    MockReply::text(format!("out:{prompt}"))
}

/// The prompts the model was sent from the `from`th request on.
fn prompts(env: &TestEnv, from: usize) -> Vec<String> {
    let mut sent: Vec<String> = env.mock.requests()[from..]
        .iter()
        .map(|r| r.last_user_text().unwrap_or_default())
        .collect();
    sent.sort();
    sent
}

const DAG: &str = r#"
name: cached
defaults:
  cache: true
steps:
  a:
    prompt: "A"
  b:
    prompt: "B after {{ steps.a.output }}"
  c:
    prompt: "C after {{ steps.b.output }}"
  d:
    prompt: "D"
"#;

async fn run_json(env: &TestEnv, args: &[&str]) -> Value {
    let out = weft(env, args).await;
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    report
}

/// `weft plan FILE --cache`'s stdout.
async fn plan_cache(env: &TestEnv, file: &str) -> String {
    let out = weft(env, &["plan", file, "--cache"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cached(report: &Value, step: &str) -> bool {
    report["steps"][step]["cached"] == Value::Bool(true)
}

#[tokio::test]
async fn a_second_unchanged_run_sends_nothing_and_an_edit_sends_only_its_dependents() {
    let env = TestEnv::start(echo).await;
    repo(&env);
    let file = write(&env.work(), "flow.yaml", DAG);
    let events = env.dir.path().join("events.jsonl");
    let first = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(env.mock.requests().len(), 4);
    assert!(!cached(&first, "a"));

    let junit = env.dir.path().join("junit.xml");
    let second = weft(
        &env,
        &[
            "run",
            &file,
            "--output",
            "json",
            "--events",
            events.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    )
    .await;
    let report = json_stdout(&second);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(env.mock.requests().len(), 4, "the second run sends nothing");
    for step in ["a", "b", "c", "d"] {
        assert!(cached(&report, step), "{step}: {report:#}");
        assert_eq!(
            report["steps"][step]["output"],
            first["steps"][step]["output"]
        );
    }
    let text = std::fs::read_to_string(&events).expect("events");
    let finished: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "step.finished")
        .collect();
    assert_eq!(finished.len(), 4);
    assert!(
        finished
            .iter()
            .all(|e| e["cached"] == true && e["saved"].is_object())
    );
    let err = stderr(&second);
    assert!(
        err.contains("cache: 4 steps served from the cache"),
        "{err}"
    );
    assert!(err.contains("[b] succeeded from the cache, "), "{err}");
    assert!(
        err.contains("succeeded (cached)"),
        "the summary table marks it: {err}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert_eq!(
        xml.matches("served from the result cache").count(),
        4,
        "{xml}"
    );

    let plan = plan_cache(&env, &file).await;
    for step in ["a", "b", "c", "d"] {
        assert!(plan.contains(&format!("  {step}  cached\n")), "{plan}");
    }

    // Edit the prompt in the middle: `b` and `c` (which reads `b`) are sent, `a` and
    // `d` are served; `weft plan --cache` says so first.
    let edited = DAG.replace("\"B after", "\"B (edited) after");
    write(&env.work(), "flow.yaml", &edited);
    let plan = plan_cache(&env, &file).await;
    assert!(
        plan.contains("  a  cached\n") && plan.contains("  d  cached\n"),
        "{plan}"
    );
    assert!(
        plan.contains("  b  runs: changed since its last stored result: `prompt`\n"),
        "{plan}"
    );
    assert!(
        plan.contains("  c  unknown: runs if `b` (which runs first) gives a different result"),
        "{plan}"
    );
    let out = weft(&env, &["plan", &file, "--cache", "--format", "json"]).await;
    let doc = json_stdout(&out);
    assert_eq!(doc["cache"]["a"]["verdict"], "cached", "{doc:#}");
    assert_eq!(doc["cache"]["b"]["verdict"], "runs", "{doc:#}");
    assert_eq!(doc["cache"]["c"]["verdict"], "unknown", "{doc:#}");
    let third = run_json(&env, &["run", &file, "--output", "json"]).await;
    let sent = prompts(&env, 4);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].starts_with("B (edited) after out:A"), "{sent:?}");
    assert!(sent[1].starts_with("C after out:B (edited)"), "{sent:?}");
    assert!(cached(&third, "a") && cached(&third, "d"));
    assert!(!cached(&third, "b") && !cached(&third, "c"));
}

#[tokio::test]
async fn no_cache_ignores_it_cache_turns_it_on_and_prune_empties_it() {
    let env = TestEnv::start(echo).await;
    repo(&env);
    let plain = DAG.replace("defaults:\n  cache: true\n", "");
    let file = write(&env.work(), "flow.yaml", &plain);
    run_json(&env, &["run", &file, "--output", "json"]).await;
    run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(
        env.mock.requests().len(),
        8,
        "without `cache` nothing is cached"
    );

    run_json(&env, &["run", &file, "--output", "json", "--cache"]).await;
    assert_eq!(env.mock.requests().len(), 12);
    let served = run_json(&env, &["run", &file, "--output", "json", "--cache"]).await;
    assert_eq!(env.mock.requests().len(), 12, "`--cache` serves every step");
    assert!(cached(&served, "c"));
}

#[tokio::test]
async fn prune_all_empties_the_cache_and_no_cache_runs_everything() {
    let env = TestEnv::start(echo).await;
    repo(&env);
    let file = write(&env.work(), "flow.yaml", DAG);
    run_json(&env, &["run", &file, "--output", "json"]).await;
    let ignored = run_json(&env, &["run", &file, "--output", "json", "--no-cache"]).await;
    assert_eq!(env.mock.requests().len(), 8, "`--no-cache` runs every step");
    assert!(!cached(&ignored, "a"));

    let pruned = weft(&env, &["cache", "prune", "--all"]).await;
    let said = String::from_utf8_lossy(&pruned.stdout).into_owned();
    assert_eq!(pruned.status.code(), Some(0), "{}", stderr(&pruned));
    assert!(said.starts_with("removed 4 results"), "{said}");
    run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(
        env.mock.requests().len(),
        12,
        "an emptied cache serves nothing"
    );

    let usage = weft(&env, &["cache", "prune"]).await;
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("`--all`"), "{}", stderr(&usage));
}

/// Runs `printf 'made\n' > made.txt` first, then says `done`.
fn make_file(request: &MockRequest) -> MockReply {
    let input = request.input();
    let start = input.iter().rposition(|i| i["role"] == "user").unwrap_or(0);
    let calls = input[start..]
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .count();
    match calls {
        0 => MockReply::command("printf 'made\\n' > made.txt"),
        _ => MockReply::text("done"),
    }
}

fn made(env: &TestEnv) -> Option<String> {
    std::fs::read_to_string(env.work().join("made.txt")).ok()
}

/// A step that writes `made.txt` (in a worktree, or in the shared tree under `writes`)
/// and reads `notes.txt`: served with its patch applied when the file is gone again, run
/// again when its patch no longer applies.
async fn file_changes_are_replayed_or_the_step_runs(tree: &str) {
    let env = TestEnv::start(make_file).await;
    repo(&env);
    let flow = format!(
        "steps:\n  edit:\n    cache: true\n    reads: [\"notes.txt\"]\n    sandbox: workspace-write\n{tree}    prompt: EDIT\n"
    );
    let file = write(&env.work(), "flow.yaml", &flow);
    run_json(&env, &["run", &file, "--output", "json"]).await;
    let sent = env.mock.requests().len();
    assert_eq!(made(&env).as_deref(), Some("made\n"));

    std::fs::remove_file(env.work().join("made.txt")).expect("rm");
    let served = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(env.mock.requests().len(), sent, "served: nothing is sent");
    assert!(cached(&served, "edit"), "{served:#}");
    assert_eq!(
        made(&env).as_deref(),
        Some("made\n"),
        "its patch was applied"
    );
    assert_eq!(
        served["steps"]["edit"]["patch"]["files"][0]["path"],
        "made.txt"
    );

    std::fs::write(env.work().join("made.txt"), "someone else's\n").expect("write");
    let ran = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert!(
        !cached(&ran, "edit"),
        "the patch no longer applies: {ran:#}"
    );
    assert_eq!(env.mock.requests().len(), sent * 2, "the step ran again");
    assert_eq!(made(&env).as_deref(), Some("made\n"));
}

#[tokio::test]
async fn an_isolated_step_is_served_with_its_patch_or_runs_when_it_no_longer_applies() {
    file_changes_are_replayed_or_the_step_runs("    isolation: worktree\n").await;
}

#[tokio::test]
async fn a_step_under_writes_is_served_with_its_patch_or_runs_when_it_no_longer_applies() {
    file_changes_are_replayed_or_the_step_runs("    writes: [\"made.txt\"]\n").await;
}

/// Each element `EDIT x` writes `x.txt`, then says `done`.
fn edit_item(request: &MockRequest) -> MockReply {
    let prompt = request.last_user_text().unwrap_or_default();
    let item = prompt.trim_start_matches("EDIT ").to_string();
    let input = request.input();
    let start = input.iter().rposition(|i| i["role"] == "user").unwrap_or(0);
    let ran = input[start..]
        .iter()
        .any(|i| i["type"] == "function_call_output");
    match ran {
        false => MockReply::command(format!("printf '{item}\\n' > {item}.txt")),
        true => MockReply::text("done"),
    }
}

#[tokio::test]
async fn an_isolated_fan_out_served_from_the_cache_merges_its_elements_patches() {
    let env = TestEnv::start(edit_item).await;
    repo(&env);
    let flow = "steps:\n  edit:\n    cache: true\n    for_each: '[\"a\", \"b\"]'\n    isolation: worktree\n    sandbox: workspace-write\n    prompt: \"EDIT {{ item }}\"\n";
    let file = write(&env.work(), "flow.yaml", flow);
    run_json(&env, &["run", &file, "--output", "json"]).await;
    let sent = env.mock.requests().len();
    for item in ["a", "b"] {
        std::fs::remove_file(env.work().join(format!("{item}.txt"))).expect("rm");
    }
    let served = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(env.mock.requests().len(), sent, "both elements were served");
    assert!(cached(&served, "edit"), "{served:#}");
    for item in ["a", "b"] {
        let text = std::fs::read_to_string(env.work().join(format!("{item}.txt")));
        assert_eq!(text.ok().as_deref(), Some(format!("{item}\n").as_str()));
    }
    let files = &served["steps"]["edit"]["patch"]["files"];
    assert_eq!(files[0]["path"], "a.txt", "{files:#}");
    assert_eq!(files[1]["path"], "b.txt", "{files:#}");
}

#[tokio::test]
async fn a_script_under_writes_is_served_without_running() {
    let env = TestEnv::start(echo).await;
    repo(&env);
    let runs = env.dir.path().join("script-ran.txt");
    let flow = format!(
        "steps:\n  build:\n    cache: true\n    writes: [\"out.txt\"]\n    run: \"echo ran >> '{}'; echo built > out.txt; echo done\"\n",
        runs.display()
    );
    let file = write(&env.work(), "flow.yaml", &flow);
    let first = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert_eq!(first["steps"]["build"]["output"], "done");
    std::fs::remove_file(env.work().join("out.txt")).expect("rm");
    let served = run_json(&env, &["run", &file, "--output", "json"]).await;
    assert!(cached(&served, "build"), "{served:#}");
    assert_eq!(served["steps"]["build"]["output"], "done");
    assert_eq!(served["steps"]["build"]["exit_code"], 0);
    let ran = std::fs::read_to_string(&runs).expect("ran once");
    assert_eq!(ran, "ran\n", "the script ran once");
    let out = std::fs::read_to_string(env.work().join("out.txt"));
    assert_eq!(
        out.ok().as_deref(),
        Some("built\n"),
        "its change was applied"
    );
}

#[tokio::test]
async fn results_stored_while_a_step_under_writes_runs_are_not_its_changes() {
    let env = TestEnv::start(|r| {
        let prompt = r.last_user_text().unwrap_or_default();
        if prompt == "LOOK" {
            return MockReply::text("looked");
        }
        match make_file(r) {
            reply @ MockReply::Text(_) => reply,
            command => MockReply::Delayed(std::time::Duration::from_millis(600), Box::new(command)),
        }
    })
    .await;
    repo(&env);
    let flow = "defaults:\n  cache: true\nsteps:\n  look:\n    prompt: LOOK\n  edit:\n    writes: [\"made.txt\"]\n    sandbox: workspace-write\n    prompt: EDIT\n";
    let file = write(&env.work(), "flow.yaml", flow);
    let report = run_json(&env, &["run", &file, "--output", "json"]).await;
    let files = &report["steps"]["edit"]["patch"]["files"];
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{files:#}");
    assert_eq!(files[0]["path"], "made.txt");
}

#[tokio::test]
async fn a_result_that_holds_a_secret_is_never_stored() {
    let env = TestEnv::start(echo).await;
    repo(&env);
    let flow = "name: secretive\ninputs:\n  token: { type: string, secret: true }\ndefaults:\n  cache: true\nsteps:\n  leaks:\n    prompt: \"TOKEN {{ inputs.token }}\"\n  plain:\n    prompt: \"PLAIN\"\n";
    let file = write(&env.work(), "secret.yaml", flow);
    let secret = "s3cr3t-value-0042";
    let input = format!("token={secret}");
    let args = ["run", file.as_str(), "--input", &input, "--output", "json"];
    run_json(&env, &args).await;
    assert_eq!(env.mock.requests().len(), 2);

    let again = run_json(&env, &args).await;
    assert_eq!(
        prompts(&env, 2),
        vec![format!("TOKEN {secret}")],
        "the step whose answer holds the secret runs again; the other is served"
    );
    assert!(!cached(&again, "leaks"));
    assert!(cached(&again, "plain"));
    let mut stack = vec![env.work().join(".weft/cache")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the cache").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let bytes = std::fs::read(&path).expect("read");
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains(secret),
                    "{} holds the secret",
                    path.display()
                );
            }
        }
    }
    assert!(files > 0, "the plain step's result is stored");
}

#[tokio::test]
async fn a_cache_that_cannot_be_written_is_named_and_the_run_goes_on() {
    let env = TestEnv::start(echo).await;
    repo(&env);
    let file = write(&env.work(), "flow.yaml", DAG);
    let blocker = write(&env.work(), "not-a-dir", "a file");
    let dir = format!("{blocker}/cache");
    let out = weft(&env, &["run", &file, "--cache-dir", &dir]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "warning: the result cache `{dir}` cannot be written"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.mock.requests().len(), 4);
}
