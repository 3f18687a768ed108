//! `weft doctor`'s sandbox check: one tiny read-only turn whose model is weft's local
//! replay server (no network, no credentials), asking codex to read a file and write
//! another. It passes when the read worked and the write did not.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::cassette::IsolatedHome;
use crate::cassette::{Answer, CASSETTE_VERSION, Cassette, Exchange, Replay, TapeMode, TapeServer};
use crate::client::diagnose::{Problem, start_problem};
use crate::client::{
    ApprovalPolicy, Client, ClientConfig, SandboxMode, ThreadOptions, TurnOptions, TurnResult,
};
use crate::engine::ActiveTurns;
use crate::engine::agent::TurnLabel;

/// The probe's prompt (the replay checks it).
const PROMPT: &str = "weft doctor: read probe.txt, then try to write a file";
/// What `probe.txt` holds; the command's output must show it.
const MARKER: &str = "weft-doctor-read-ok";
/// The file the command tries to create; the sandbox must refuse.
const WRITTEN: &str = "written-by-weft-doctor";
/// How long the probe may take.
const LIMIT: Duration = Duration::from_secs(60);

/// What to do when the sandbox cannot run commands.
const SANDBOX_ADVICE: &str = "on Linux codex sandboxes commands with bubblewrap, which needs \
    unprivileged user namespaces (`sysctl -w kernel.unprivileged_userns_clone=1`; in a \
    container, run it with `--security-opt seccomp=unconfined` or `--privileged`); or give \
    steps `sandbox: danger-full-access` where the machine is itself a sandbox";

// The write is a shell redirection: codex refuses a plain `touch` under `read-only` before
// running it, which would test codex's rules, not the machine's sandbox.

/// Runs the probe with the codex binary `bin` (`None`: `CODEX_BIN`, else `PATH`).
pub async fn probe(bin: Option<PathBuf>) -> Result<String, Problem> {
    let dir = tempfile::Builder::new()
        .prefix("weft-doctor-")
        .tempdir()
        .map_err(|e| {
            problem(
                format!("cannot create a scratch directory: {e}"),
                "check `TMPDIR`",
            )
        })?;
    let (home, tmp, work) = (
        dir.path().join("home"),
        dir.path().join("tmp"),
        dir.path().join("work"),
    );
    for path in [&tmp, &work] {
        std::fs::create_dir_all(path).map_err(|e| problem(e.to_string(), "check `TMPDIR`"))?;
    }
    std::fs::write(work.join("probe.txt"), MARKER)
        .map_err(|e| problem(e.to_string(), "check `TMPDIR`"))?;
    let turns = ActiveTurns::default();
    let replay = Replay {
        cassette: cassette(),
        strict: true,
        redactor: Default::default(),
    };
    let server = TapeServer::start(TapeMode::Replay(replay), turns.clone())
        .await
        .map_err(|e| {
            problem(
                format!("cannot start the local replay server: {e}"),
                "check that 127.0.0.1 is usable",
            )
        })?;
    let settings = IsolatedHome {
        model: "weft-doctor".into(),
        sandbox_mode: "read-only".into(),
        ..IsolatedHome::default()
    };
    settings
        .write(&home, &server.url())
        .map_err(|e| problem(e.to_string(), "check `TMPDIR`"))?;
    let config = ClientConfig {
        codex_bin: bin,
        codex_home: Some(home),
        env: vec![("TMPDIR".into(), tmp.display().to_string())],
        cwd: Some(work.clone()),
        client_name: "weft_doctor".into(),
        ..ClientConfig::default()
    };
    let client = Client::spawn(config).await.map_err(|e| start_problem(&e))?;
    let outcome = tokio::time::timeout(LIMIT, turn(&client, &turns, &work)).await;
    let _ = client.close().await;
    let result = match outcome {
        Ok(result) => result?,
        Err(_) => {
            return Err(problem(
                format!("the probe turn took more than {LIMIT:?}"),
                SANDBOX_ADVICE,
            ));
        }
    };
    judge(&result, &work)
}

async fn turn(client: &Client, turns: &ActiveTurns, work: &Path) -> Result<TurnResult, Problem> {
    let failed =
        |e: crate::client::Error| problem(format!("the probe turn failed: {e}"), SANDBOX_ADVICE);
    let options = ThreadOptions {
        sandbox: Some(SandboxMode::ReadOnly),
        approval_policy: Some(ApprovalPolicy::Never),
        cwd: Some(work.to_path_buf()),
        ..ThreadOptions::default()
    };
    let thread = client.thread_start(options).await.map_err(failed)?;
    let label = TurnLabel {
        step: "sandbox".into(),
        index: None,
        iteration: None,
        attempt: 1,
    };
    turns.begin(thread.id(), label);
    let options = TurnOptions {
        sandbox_policy: Some(SandboxMode::ReadOnly.to_policy()),
        ..TurnOptions::default()
    };
    let result = thread.run(PROMPT, options).await.map_err(failed);
    turns.end(thread.id());
    result
}

/// Passes when the command read the probe file and could not write.
fn judge(result: &TurnResult, work: &Path) -> Result<String, Problem> {
    let command = result.items.iter().find_map(|item| item.as_command());
    let Some(command) = command else {
        return Err(problem(
            "codex ran no command in the read-only sandbox".into(),
            SANDBOX_ADVICE,
        ));
    };
    let output = command.aggregated_output.clone().unwrap_or_default();
    if !output.contains(MARKER) {
        let first = output
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(problem(
            format!("a command in the read-only sandbox could not run: {first}"),
            SANDBOX_ADVICE,
        ));
    }
    if work.join(WRITTEN).exists() {
        return Err(problem(
            "a command in the read-only sandbox could write a file".into(),
            "this machine's sandbox does not hold: run workflows in a disposable environment only",
        ));
    }
    Ok("a read-only command ran, and could not write".into())
}

fn problem(what: String, advice: &str) -> Problem {
    Problem {
        what,
        advice: advice.into(),
    }
}

/// The recorded model of the probe: run the command, then say done.
fn cassette() -> Cassette {
    let command = format!("cat probe.txt; echo x > {WRITTEN}; echo wrote=$?");
    let arguments = json!({"cmd": command, "login": false}).to_string();
    let call = json!({"type": "function_call", "id": "fc_doctor", "call_id": "call_doctor",
                      "name": "exec_command", "arguments": arguments});
    let done = json!({"type": "message", "role": "assistant", "id": "msg_doctor",
                      "content": [{"type": "output_text", "text": "done"}]});
    let exchange = |request: u32, item: Value| Exchange {
        step: "sandbox".into(),
        index: None,
        iteration: None,
        attempt: 1,
        request,
        prompt: PROMPT.into(),
        output_schema: None,
        answer: Answer::Response {
            output: vec![item],
            usage: None,
        },
    };
    Cassette {
        weft_cassette: CASSETTE_VERSION,
        workflow: "weft-doctor".into(),
        model: Some("weft-doctor".into()),
        inputs: Map::new(),
        exchanges: vec![exchange(1, call), exchange(2, done)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ThreadItem, TurnStatus};

    fn ran(output: &str) -> TurnResult {
        let item = json!({"type": "commandExecution", "id": "c", "command": "cat probe.txt",
                          "status": "completed", "aggregatedOutput": output, "exitCode": 1});
        TurnResult {
            turn_id: "t".into(),
            status: TurnStatus::Completed,
            final_response: None,
            items: vec![ThreadItem::from_value(item)],
            usage: None,
            duration: Duration::ZERO,
            error: None,
        }
    }

    #[test]
    fn the_probe_fails_when_the_sandbox_cannot_start_or_lets_a_write_through() {
        let dir = tempfile::tempdir().unwrap();
        let broken = ran("bwrap: No permissions to create a new namespace\n");
        let problem = judge(&broken, dir.path()).unwrap_err();
        assert_eq!(
            problem.what,
            "a command in the read-only sandbox could not run: bwrap: No permissions to create a new namespace"
        );
        assert!(problem.advice.contains("user namespaces"));
        let fine = ran(&format!("{MARKER}bash: {WRITTEN}: Read-only file system\n"));
        assert_eq!(
            judge(&fine, dir.path()).unwrap(),
            "a read-only command ran, and could not write"
        );
        std::fs::write(dir.path().join(WRITTEN), "x").unwrap();
        let leaky = judge(&fine, dir.path()).unwrap_err();
        assert_eq!(
            leaky.what,
            "a command in the read-only sandbox could write a file"
        );
        let mut none = ran("");
        none.items.clear();
        assert_eq!(
            judge(&none, dir.path()).unwrap_err().what,
            "codex ran no command in the read-only sandbox"
        );
    }
}
