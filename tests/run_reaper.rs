//! No process outlives `weft run`: not a command that double-forks into its own session
//! under `danger-full-access`, not what the login profile leaves behind when codex takes
//! its shell snapshot, whether the run ends normally, is interrupted, or loses its
//! app-server. This test process is itself a subreaper, so whatever escaped weft comes back
//! here, where the test sees it (and ends it).

mod support;

use std::path::Path;

use support::cli::{command, run, stderr, write};
use support::{TestEnv, children_of, pid_alive, send_signal, wait_until, within};
use weft::mock::{MockReply, MockRequest};

/// The tests of this file share the process (under `cargo test`): one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A command that starts `sleep 600` in a session of its own, parented to nothing but
/// init once its subshell exits, and writes its pid to `name` (waiting until it has).
fn double_fork(name: &str) -> String {
    format!(
        "(setsid sh -c 'echo $$ > {name}.tmp && mv {name}.tmp {name} && exec sleep 600' &); \
         while [ ! -s {name} ]; do sleep 0.05; done; echo started"
    )
}

fn escaping_command(request: &MockRequest) -> MockReply {
    if request.is_after_tool_call() {
        MockReply::text("done")
    } else {
        MockReply::command(double_fork("escaped.pid"))
    }
}

const ONE_STEP: &str = "steps:\n  escape:\n    sandbox: danger-full-access\n    prompt: escape\n";

/// Make this test process a subreaper; the guard that keeps the tests one at a time.
async fn subreaper() -> tokio::sync::MutexGuard<'static, ()> {
    let guard = ONE_AT_A_TIME.lock().await;
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(set, 0, "become a subreaper");
    guard
}

/// The processes that escaped weft (now this process's children), ended and reaped; their
/// pids.
fn escaped(weft_pids: &[u32]) -> Vec<u32> {
    let left: Vec<u32> = children_of(std::process::id())
        .into_iter()
        .filter(|pid| !weft_pids.contains(pid))
        .collect();
    for pid in &left {
        send_signal(*pid, libc::SIGKILL);
        // SAFETY: waitpid on a child of this process.
        unsafe { libc::waitpid(*pid as i32, std::ptr::null_mut(), 0) };
    }
    left
}

fn read_pid(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().parse().expect("a pid")
}

#[tokio::test]
async fn a_double_forked_command_does_not_outlive_the_run() {
    let _guard = subreaper().await;
    let env = TestEnv::start(escaping_command).await;
    let file = write(&env.work(), "escape.yaml", ONE_STEP);
    let out = run(command(&env, &["run", &file])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let sleeper = read_pid(&env.work().join("escaped.pid"));
    assert!(
        !pid_alive(sleeper),
        "the double-forked sleep is still running"
    );
    assert_eq!(escaped(&[]), Vec::<u32>::new(), "processes outlived weft");
}

#[tokio::test]
async fn an_interrupted_run_ends_what_left_the_process_group() {
    let _guard = subreaper().await;
    let env = TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::Stall
        } else {
            MockReply::command(double_fork("escaped.pid"))
        }
    })
    .await;
    let file = write(&env.work(), "escape.yaml", ONE_STEP);
    let mut weft = command(&env, &["run", &file]).spawn().unwrap();
    let weft_pid = weft.id().unwrap();
    let pid_file = env.work().join("escaped.pid");
    wait_until(support::LIMIT, || env.mock.requests().len() >= 2).await;
    let sleeper = read_pid(&pid_file);
    assert!(pid_alive(sleeper));
    send_signal(weft_pid, libc::SIGINT);
    let status = within(weft.wait()).await.unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        !pid_alive(sleeper),
        "the double-forked sleep survived Ctrl-C"
    );
    assert_eq!(escaped(&[]), Vec::<u32>::new(), "processes outlived weft");
}

#[tokio::test]
async fn a_dead_app_server_leaves_nothing_behind() {
    let _guard = subreaper().await;
    let env = TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::Stall
        } else {
            MockReply::command(double_fork("escaped.pid"))
        }
    })
    .await;
    let file = write(&env.work(), "escape.yaml", ONE_STEP);
    let mut weft = command(&env, &["run", &file]).spawn().unwrap();
    let weft_pid = weft.id().unwrap();
    wait_until(support::LIMIT, || env.mock.requests().len() >= 2).await;
    let sleeper = read_pid(&env.work().join("escaped.pid"));
    let servers: Vec<u32> = children_of(weft_pid)
        .into_iter()
        .filter(|pid| support::command_name(*pid) == "codex")
        .collect();
    assert_eq!(servers.len(), 1, "one app-server: {servers:?}");
    assert!(
        children_of(weft_pid).contains(&sleeper),
        "weft adopted the double-forked sleep"
    );
    send_signal(servers[0], libc::SIGKILL);
    let status = within(weft.wait()).await.unwrap();
    assert_eq!(status.code(), Some(3));
    assert!(
        !pid_alive(sleeper),
        "the double-forked sleep survived the app-server"
    );
    assert_eq!(escaped(&[]), Vec::<u32>::new(), "processes outlived weft");
}

/// A login profile that leaves a process behind each time a login shell reads it, as
/// `pyenv rehash` in a real profile does, and notes its pid.
const PROFILE: &str = "(sleep 600 & echo $! >> \"$HOME/leftovers\")\n";

#[tokio::test]
async fn shell_snapshots_of_a_fan_out_leave_nothing_behind() {
    let _guard = subreaper().await;
    let env = TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::text("done")
        } else if request
            .last_user_text()
            .unwrap_or_default()
            .contains("escape")
        {
            let n = request.last_user_text().unwrap_or_default().len();
            MockReply::command(double_fork(&format!("escaped-{n}.pid")))
        } else {
            MockReply::text("fine")
        }
    })
    .await;
    let home = env.dir.path().join("user-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".profile"), PROFILE).unwrap();
    let workflow = "steps:\n  fan:\n    sandbox: danger-full-access\n    for_each: '[1, 22, 333, 4444, 55555, 666666]'\n    as: n\n    prompt: \"{{ 'escape' if n > 100 else 'stay' }} {{ n }}\"\n";
    let file = write(&env.work(), "fan.yaml", workflow);
    let mut cmd = command(&env, &["run", &file, "-c", "features.shell_snapshot=true"]);
    cmd.env("HOME", &home).env("SHELL", "/bin/sh");
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let leftovers = std::fs::read_to_string(home.join("leftovers")).unwrap_or_default();
    let pids: Vec<u32> = leftovers
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(
        pids.len() >= 6,
        "every thread's snapshot read the profile: {pids:?}"
    );
    let alive: Vec<u32> = pids.into_iter().filter(|pid| pid_alive(*pid)).collect();
    assert_eq!(
        alive,
        Vec::<u32>::new(),
        "the profile's processes outlived weft"
    );
    assert_eq!(escaped(&[]), Vec::<u32>::new(), "processes outlived weft");
}

#[tokio::test]
async fn an_orphan_that_exits_during_the_run_is_reaped_then() {
    let _guard = subreaper().await;
    let env = TestEnv::start(|request| {
        if request.is_after_tool_call() {
            MockReply::Stall
        } else {
            MockReply::command(
                "(setsid sh -c 'echo $$ > short.tmp && mv short.tmp short.pid' &); \
                 while [ ! -s short.pid ]; do sleep 0.05; done",
            )
        }
    })
    .await;
    let file = write(&env.work(), "short.yaml", ONE_STEP);
    let mut weft = command(&env, &["run", &file]).spawn().unwrap();
    let weft_pid = weft.id().unwrap();
    wait_until(support::LIMIT, || env.mock.requests().len() >= 2).await;
    let orphan = read_pid(&env.work().join("short.pid"));
    let gone = || !Path::new(&format!("/proc/{orphan}")).exists();
    wait_until(std::time::Duration::from_secs(10), gone).await;
    send_signal(weft_pid, libc::SIGINT);
    within(weft.wait()).await.unwrap();
    assert_eq!(escaped(&[]), Vec::<u32>::new(), "processes outlived weft");
}
