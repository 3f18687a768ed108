//! The app-server process: it never outlives the client (close, drop, panic, Ctrl-C), and
//! its death (killed mid-turn, a bad config at start) reaches every waiter with its stderr.

mod support;

use std::time::Duration;

use support::{TestEnv, descendants_of, pid_alive, send_signal, wait_until, within, within_for};
use weft::client::{Client, Error, ThreadOptions, TurnOptions};
use weft::mock::MockReply;

/// How fast a death must be noticed.
const PROMPTLY: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_server_killed_mid_turn_fails_the_turn_and_later_calls_promptly() {
    let env = TestEnv::start(|_| MockReply::Stall).await;
    let client = env.client().await;
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let turn = within(thread.turn("hang", TurnOptions::default()))
        .await
        .unwrap();
    wait_until(support::LIMIT, || !env.mock.requests().is_empty()).await;
    send_signal(client.pid().unwrap(), libc::SIGKILL);
    let failed = within_for(PROMPTLY, turn.wait()).await;
    let Err(Error::ProcessExited { status, .. }) = failed else {
        panic!("expected a process exit, got {failed:?}");
    };
    assert_eq!(status, "killed by signal 9");
    let later = within_for(PROMPTLY, client.thread_start(ThreadOptions::default())).await;
    assert!(
        matches!(later, Err(Error::ProcessExited { .. })),
        "{later:?}"
    );
}

#[tokio::test]
async fn a_config_that_stops_the_server_at_start_shows_its_stderr() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let mut config = env.config();
    config
        .config_overrides
        .push(("model_providers.mock.wire_api".into(), "\"chat\"".into()));
    let failed = within(Client::spawn(config)).await;
    let Err(Error::ProcessExited {
        status,
        stderr_tail,
    }) = failed
    else {
        panic!("expected a process exit, got {failed:?}");
    };
    assert_ne!(status, "exit code 0");
    assert!(stderr_tail.contains("wire_api"), "stderr: {stderr_tail}");
}

#[tokio::test]
async fn a_missing_binary_is_a_spawn_error() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let mut config = env.config();
    config.codex_bin = Some(env.dir.path().join("no-such-codex"));
    let failed = within(Client::spawn(config)).await;
    assert!(matches!(failed, Err(Error::Spawn { .. })), "{failed:?}");
}

#[tokio::test]
async fn close_ends_the_server_and_fails_later_calls() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let client = env.client().await;
    let pid = client.pid().unwrap();
    within(client.close()).await.unwrap();
    wait_until(PROMPTLY, || !pid_alive(pid)).await;
    let later = within(client.thread_start(ThreadOptions::default())).await;
    assert!(matches!(later, Err(Error::Closed)), "{later:?}");
}

#[tokio::test]
async fn dropping_the_client_kills_the_server_and_the_commands_it_started() {
    let env = TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::Stall
        } else {
            MockReply::command("sleep 600")
        }
    })
    .await;
    let client = env.client().await;
    let server = client.pid().unwrap();
    let thread = within(client.thread_start(ThreadOptions::default()))
        .await
        .unwrap();
    let turn = within(thread.turn("start a sleeper", TurnOptions::default()))
        .await
        .unwrap();
    let sleeper = find_sleeper(server).await;
    drop((turn, thread, client));
    wait_until(PROMPTLY, || !pid_alive(server)).await;
    wait_until(PROMPTLY, || !pid_alive(sleeper)).await;
}

#[tokio::test]
async fn dropping_the_client_kills_a_server_that_ignores_eof_and_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let config = weft::client::ClientConfig {
        codex_bin: Some(stubborn_server(dir.path())),
        ..weft::client::ClientConfig::default()
    };
    let client = within(Client::spawn(config)).await.unwrap();
    assert_eq!(client.server_version(), "9.9.9");
    let server = client.pid().unwrap();
    let sleeper = find_sleeper(server).await;
    drop(client);
    wait_until(PROMPTLY, || !pid_alive(server)).await;
    wait_until(PROMPTLY, || !pid_alive(sleeper)).await;
}

#[tokio::test]
async fn a_panic_in_the_caller_kills_the_server() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let config = env.config();
    let (pid_tx, pid_rx) = tokio::sync::oneshot::channel();
    let caller = tokio::spawn(async move {
        let client = Client::spawn(config).await.expect("spawn");
        pid_tx.send(client.pid().unwrap()).unwrap();
        panic!("the caller panics while holding the client");
    });
    let pid = within(pid_rx).await.unwrap();
    let joined = within(caller).await;
    assert!(joined.unwrap_err().is_panic());
    wait_until(PROMPTLY, || !pid_alive(pid)).await;
}

#[tokio::test]
async fn ctrl_c_in_the_calling_program_leaves_no_server() {
    let example = support::build_example("quickstart");
    let env = TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::Stall
        } else {
            MockReply::command("sleep 600")
        }
    })
    .await;
    let mut program = tokio::process::Command::new(example)
        .env("CODEX_BIN", support::codex_bin())
        .env("CODEX_HOME", env.codex_home())
        .env("TMPDIR", env.tmp())
        .current_dir(env.work())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let program_pid = program.id().unwrap();
    wait_until(support::LIMIT, || !env.mock.requests().is_empty()).await;
    let servers = support::children_of(program_pid);
    assert_eq!(servers.len(), 1, "one app-server child: {servers:?}");
    let sleeper = find_sleeper(servers[0]).await;
    send_signal(program_pid, libc::SIGINT);
    let status = within(program.wait()).await.unwrap();
    assert!(!status.success());
    wait_until(PROMPTLY, || !pid_alive(servers[0])).await;
    wait_until(PROMPTLY, || !pid_alive(sleeper)).await;
}

/// Wait for a `sleep` process to run under `root`; its pid.
async fn find_sleeper(root: u32) -> u32 {
    let mut sleeper = None;
    wait_until(support::LIMIT, || {
        let found = descendants_of(root);
        sleeper = found
            .into_iter()
            .find(|pid| support::command_name(*pid) == "sleep");
        sleeper.is_some()
    })
    .await;
    sleeper.unwrap()
}

/// A fake app-server that answers `initialize`, starts a `sleep` in its process group,
/// and then ignores its stdin closing: only a kill ends it.
fn stubborn_server(dir: &std::path::Path) -> std::path::PathBuf {
    support::write_script(
        dir,
        "stubborn-codex",
        r#"read -r line
printf '%s\n' '{"id":1,"result":{"userAgent":"stubborn/9.9.9 (test)"}}'
sleep 600 &
wait
"#,
    )
}

#[tokio::test]
async fn ctrl_c_in_the_calling_program_kills_a_server_that_ignores_eof() {
    let example = support::build_example("quickstart");
    let dir = tempfile::tempdir().unwrap();
    let mut program = tokio::process::Command::new(example)
        .env("CODEX_BIN", stubborn_server(dir.path()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let program_pid = program.id().unwrap();
    let sleeper = find_sleeper(program_pid).await;
    let servers = support::children_of(program_pid);
    assert_eq!(servers.len(), 1, "one app-server child: {servers:?}");
    send_signal(program_pid, libc::SIGINT);
    within(program.wait()).await.unwrap();
    wait_until(PROMPTLY, || !pid_alive(servers[0])).await;
    // The kernel kills only the direct child; the fake's own child is the test's to reap.
    send_signal(sleeper, libc::SIGKILL);
}
