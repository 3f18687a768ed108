//! Running the `weft` binary in a [`TestEnv`]: its work directory, `CODEX_HOME` and codex.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{TestEnv, codex_bin, within_for};

/// A `weft` command in the environment's work directory, with GitHub Actions variables
/// removed (so that CI running these tests does not change what weft prints).
pub fn command(env: &TestEnv, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_weft"));
    cmd.args(args)
        .current_dir(env.work())
        .env("CODEX_BIN", codex_bin())
        .env("CODEX_HOME", env.codex_home())
        .env("TMPDIR", env.tmp())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("WEFT_RUNS_DIR")
        .env_remove("WEFT_CACHE_DIR")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs `weft ARGS` in `cwd` (not the work directory), without `OPENAI_API_KEY`, with
/// `extra_env`, allowing `limit` for runs that build or record; its output.
pub async fn weft_in(
    env: &TestEnv,
    cwd: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
    limit: Duration,
) -> Output {
    let mut cmd = command(env, args);
    cmd.current_dir(cwd).env_remove("OPENAI_API_KEY");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    within_for(limit, cmd.output()).await.expect("run weft")
}

/// Runs `weft ARGS` to its end; its output.
pub async fn weft(env: &TestEnv, args: &[&str]) -> Output {
    run(command(env, args)).await
}

/// Runs a prepared command to its end; its output.
pub async fn run(mut cmd: tokio::process::Command) -> Output {
    within_for(Duration::from_secs(120), cmd.output())
        .await
        .expect("run weft")
}

/// Writes `text` to `dir/name`; the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.display().to_string()
}

/// Stdout parsed as one JSON document.
pub fn json_stdout(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run ids in the environment's default runs directory, oldest first, as weft orders
/// them (`last` is the last): by the second in the id, then by the recorded start, since
/// runs started in the same second have random suffixes.
pub fn run_ids(env: &TestEnv) -> Vec<String> {
    weft::report::RunStore::new(env.work().join(".weft/runs")).ids()
}

/// The run record `run.json` of run `id`, as JSON.
pub fn record(env: &TestEnv, id: &str) -> Value {
    let path = env.work().join(".weft/runs").join(id).join("run.json");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&text).expect("run.json is JSON")
}

/// The entry of step `step` in a record.
pub fn step_entry<'a>(record: &'a Value, step: &str) -> &'a Value {
    record["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == step))
        .unwrap_or_else(|| panic!("no step `{step}` in {record:#}"))
}
