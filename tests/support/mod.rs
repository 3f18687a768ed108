//! Test helpers shared by the integration tests: the pinned codex binary, an isolated
//! app-server environment around a mock model, timeouts and process checks.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;
use weft::cassette::IsolatedHome;
use weft::client::{Client, ClientConfig};
use weft::mock::{MockModel, MockReply, MockRequest};

/// The limit on any single await in a test.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The native codex binary: `$CODEX_BIN` (set by `scripts/test`), else the pinned one
/// ([`pinned_codex`]), so that plain `cargo test` works on a fresh clone.
pub fn codex_bin() -> PathBuf {
    match std::env::var_os("CODEX_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => pinned_codex(),
    }
}

/// The pinned Codex CLI in the checkout's `.tools/`: what `scripts/codex-cli` prints, once
/// per test binary (the script installs it when missing, under a lock).
pub fn pinned_codex() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/codex-cli");
        let output = std::process::Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "scripts/codex-cli failed: {output:?}"
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
    .clone()
}

/// The version of [`codex_bin`], from `codex --version` (`codex-cli 0.169.0` → `0.169.0`).
pub fn codex_version() -> String {
    let output = std::process::Command::new(codex_bin())
        .arg("--version")
        .output()
        .expect("run codex --version");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// Await `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    within_for(LIMIT, future).await
}

/// Await `future`, failing the test if it takes longer than `limit`.
pub async fn within_for<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?}"),
    }
}

/// Poll `condition` every 20 ms until it holds; fail the test after `limit`.
pub async fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) {
    within_for(limit, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Whether `pid` is a running process (a zombie, exited but not yet reaped, is not).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X'))
        }
        Err(_) => false,
    }
}

/// The pids of `parent`'s running children.
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent) && pid_alive(*pid))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// A mock model plus an isolated `CODEX_HOME`, `TMPDIR` and working directory.
pub struct TestEnv {
    pub mock: MockModel,
    pub dir: TempDir,
}

impl TestEnv {
    /// Start a mock model answering with `script`, and write a default [`IsolatedHome`].
    pub async fn start(
        script: impl Fn(&MockRequest) -> MockReply + Send + Sync + 'static,
    ) -> TestEnv {
        TestEnv::with_home(IsolatedHome::default(), script).await
    }

    /// Like [`TestEnv::start`] with a custom `config.toml`.
    pub async fn with_home(
        home: IsolatedHome,
        script: impl Fn(&MockRequest) -> MockReply + Send + Sync + 'static,
    ) -> TestEnv {
        let mock = MockModel::start(script)
            .await
            .expect("start the mock model");
        let dir = tempfile::tempdir().expect("temp dir");
        let env = TestEnv { mock, dir };
        home.write(&env.codex_home(), &env.mock.url())
            .expect("write config.toml");
        std::fs::create_dir_all(env.tmp()).expect("tmp dir");
        std::fs::create_dir_all(env.work()).expect("work dir");
        env
    }

    /// The isolated `CODEX_HOME`.
    pub fn codex_home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `TMPDIR` for the app-server, outside `CODEX_HOME`.
    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// A working directory for turns.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// A client config for this environment (binary, home, `TMPDIR`, cwd).
    pub fn config(&self) -> ClientConfig {
        ClientConfig {
            codex_bin: Some(codex_bin()),
            codex_home: Some(self.codex_home()),
            env: vec![("TMPDIR".into(), self.tmp().display().to_string())],
            cwd: Some(self.work()),
            client_name: "weft_test".into(),
            ..ClientConfig::default()
        }
    }

    /// Spawn a client with [`TestEnv::config`].
    pub async fn client(&self) -> Client {
        within(Client::spawn(self.config()))
            .await
            .expect("spawn the app-server")
    }
}

/// Every running descendant of `root`, depth first.
pub fn descendants_of(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for child in children_of(pid) {
            found.push(child);
            stack.push(child);
        }
    }
    found
}

/// The command name of `pid` (`/proc/PID/comm`).
pub fn command_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Build the example `name` (nextest builds only tests) and return its path.
pub fn build_example(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(&manifest)
        .status()
        .expect("run cargo build --example");
    assert!(status.success(), "cargo build --example {name} failed");
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    profile_dir.join("examples").join(name)
}

/// Send `signal` to `pid`.
pub fn send_signal(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).expect("pid fits i32");
    // SAFETY: kill(2) on a pid this test started.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
}

/// Write an executable `/bin/sh` script `name` into `dir`; its path. For fake app-servers.
pub fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write script");
    let mode = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(&path, mode).expect("chmod script");
    path
}
pub mod cli;
pub mod examples;
pub mod scripted;
pub mod wire_schema;
