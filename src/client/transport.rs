//! The app-server child process: spawn it in its own process group, collect its stderr
//! tail, report how it ended, and kill the whole group when the client goes away.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::watch;

use super::error::{CloseReason, Error, Result};

/// How many stderr lines an exit error carries.
const STDERR_TAIL_LINES: usize = 40;
/// How long to wait for the exit status once stdout has closed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// What to run: `<bin> [-c key=value]... app-server --listen stdio://`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Launch {
    pub bin: Option<PathBuf>,
    pub codex_home: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub config_overrides: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

/// A running app-server: its pipes, and a guard that kills its process group on drop.
pub(crate) struct Spawned {
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub guard: ProcessGuard,
}

/// Kills the app-server's process group when dropped; owned by the client handles only,
/// so background tasks never keep the process alive.
#[derive(Debug)]
pub(crate) struct ProcessGuard(pub Arc<Process>);

/// The child's pid, exit status and stderr tail.
#[derive(Debug)]
pub(crate) struct Process {
    pid: u32,
    status: watch::Receiver<Option<String>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_done: watch::Receiver<bool>,
}

impl Launch {
    /// The binary: the explicit path, else `$CODEX_BIN`, else `codex` on `PATH`.
    pub fn resolve_bin(&self) -> PathBuf {
        self.bin
            .clone()
            .or_else(|| std::env::var_os("CODEX_BIN").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("codex"))
    }

    pub fn spawn(&self) -> Result<Spawned> {
        let bin = self.resolve_bin();
        let mut command = self.command(&bin);
        let mut child = crate::reaper::spawn_owned(&mut command)
            .map_err(|source| Error::Spawn { bin, source })?;
        let pid = child.id().unwrap_or_default();
        let stdin = child.stdin.take().ok_or_else(missing_pipe)?;
        let stdout = child.stdout.take().ok_or_else(missing_pipe)?;
        let stderr = child.stderr.take().ok_or_else(missing_pipe)?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (done_tx, stderr_done) = watch::channel(false);
        tokio::spawn(collect_stderr(stderr, tail.clone(), done_tx));
        let (status_tx, status) = watch::channel(None);
        tokio::spawn(reap(child, status_tx));
        let process = Process {
            pid,
            status,
            stderr: tail,
            stderr_done,
        };
        Ok(Spawned {
            stdin,
            stdout,
            guard: ProcessGuard(Arc::new(process)),
        })
    }

    fn command(&self, bin: &Path) -> Command {
        let mut command = Command::new(bin);
        for (key, value) in &self.config_overrides {
            command.arg("-c").arg(format!("{key}={value}"));
        }
        command.args(["app-server", "--listen", "stdio://"]);
        if let Some(home) = &self.codex_home {
            command.env("CODEX_HOME", home);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        crate::reaper::die_with_parent(&mut command);
        command
    }
}

fn missing_pipe() -> Error {
    Error::Io(std::io::Error::other("child pipe missing"))
}

async fn collect_stderr(
    stderr: ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
    done: watch::Sender<bool>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "weft::app_server", "{line}");
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let _ = done.send(true);
}

async fn reap(mut child: Child, status: watch::Sender<Option<String>>) {
    let pid = child.id();
    let text = match child.wait().await {
        Ok(exit) => describe(exit),
        Err(err) => format!("unknown ({err})"),
    };
    if let Some(pid) = pid {
        crate::reaper::release(pid);
    }
    let _ = status.send(Some(text));
}

fn describe(exit: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (exit.code(), exit.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => exit.to_string(),
    }
}

impl Process {
    /// The app-server's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGKILL the app-server's whole process group (it and everything it started).
    pub fn kill_group(&self) {
        if let Ok(pgid) = i32::try_from(self.pid) {
            if pgid > 0 {
                // SAFETY: kill(2) with a negative pid signals that process group only.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
    }

    /// Wait up to `grace` for the process to exit by itself.
    pub async fn wait_exit(&self, grace: Duration) -> Option<String> {
        let mut status = self.status.clone();
        let waited = tokio::time::timeout(grace, status.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(status)) => status.clone(),
            _ => None,
        }
    }

    /// Why the connection ended, once stdout has closed: exit status and stderr tail.
    pub async fn close_reason(&self) -> CloseReason {
        let status = self.wait_exit(EXIT_GRACE).await;
        let mut done = self.stderr_done.clone();
        let _ = tokio::time::timeout(EXIT_GRACE, done.wait_for(|d| *d)).await;
        let stderr_tail = self.stderr_tail();
        CloseReason::Exited {
            status: status.unwrap_or_else(|| "stdout closed, still running".into()),
            stderr_tail,
        }
    }

    /// The last lines the app-server wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().map(|l| format!("{l}\n")).collect()
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.0.kill_group();
    }
}
