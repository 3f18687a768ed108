//! Running one script process: in its own process group, stdin closed, stdout and stderr
//! captured (stdout up to a limit, the tail of stderr), until it exits, its deadline
//! passes or the run stops it. A stopped script's whole group gets `SIGTERM`, then
//! `SIGKILL`; when the script exits, whatever it left running in its group is killed too,
//! so nothing outlives it (a process that leaves the group is the reaper's).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::agent::StopReason;

/// The most stdout weft keeps; a script that prints more fails.
pub const STDOUT_LIMIT: usize = 16 << 20;
/// The most stderr weft keeps (the end of it).
pub const STDERR_LIMIT: usize = 64 << 10;
/// How long a stopped script's group has to end after `SIGTERM`.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long weft waits for the pipes to close once the script's group is gone.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The program and its arguments (the script last).
    pub argv: Vec<String>,
    /// Added to weft's own environment.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
}

/// How a script run ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it (not weft).
    Signal(i32),
    /// Weft stopped it, for this reason.
    Stopped(StopReason),
    /// It could not be started.
    NotStarted(String),
}

/// A finished script run.
#[derive(Debug)]
pub struct Ran {
    pub ended: Ended,
    pub stdout: Vec<u8>,
    /// Stdout went past [`STDOUT_LIMIT`] (the rest was not kept).
    pub stdout_overflow: bool,
    /// The end of stderr (at most [`STDERR_LIMIT`]).
    pub stderr: Vec<u8>,
}

/// Runs `invocation` until it exits, `deadline` passes (then the stop reason is
/// `timeout`), or `stop` says so; `on_output` gets what it prints, as it prints it.
pub async fn run(
    invocation: &Invocation,
    deadline: Option<(tokio::time::Instant, Duration)>,
    stop: &mut watch::Receiver<Option<StopReason>>,
    on_output: impl Fn(String) + Send + Sync + 'static,
) -> Ran {
    let not_started = |why: String| Ran {
        ended: Ended::NotStarted(why),
        stdout: Vec::new(),
        stdout_overflow: false,
        stderr: Vec::new(),
    };
    if let Some(reason) = stop.borrow().clone() {
        return Ran {
            ended: Ended::Stopped(reason),
            ..not_started(String::new())
        };
    }
    let Some((program, args)) = invocation.argv.split_first() else {
        return not_started("no program to run".into());
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(invocation.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&invocation.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    crate::reaper::die_with_parent(&mut command);
    let mut child = match crate::reaper::spawn_owned(&mut command) {
        Ok(child) => child,
        Err(e) => return not_started(format!("cannot run `{program}`: {e}")),
    };
    let pid = child.id().unwrap_or_default();
    let on_output = Arc::new(on_output);
    let out = child
        .stdout
        .take()
        .map(|p| collect(p, STDOUT_LIMIT, false, on_output.clone()));
    let err = child
        .stderr
        .take()
        .map(|p| collect(p, STDERR_LIMIT, true, on_output.clone()));
    let ended = wait(&mut child, pid, deadline, stop).await;
    crate::reaper::release(pid);
    signal_group(pid, libc::SIGKILL);
    let (stdout, stdout_overflow) = drained(out).await;
    let (stderr, _) = drained(err).await;
    Ran {
        ended,
        stdout,
        stdout_overflow,
        stderr,
    }
}

/// Waits for the script to exit, stopping its group when the deadline passes or `stop`
/// says so.
async fn wait(
    child: &mut tokio::process::Child,
    pid: u32,
    deadline: Option<(tokio::time::Instant, Duration)>,
    stop: &mut watch::Receiver<Option<StopReason>>,
) -> Ended {
    let far = tokio::time::Instant::now() + Duration::from_secs(86400 * 365);
    let reason = tokio::select! {
        status = child.wait() => return exit_of(status),
        _ = tokio::time::sleep_until(deadline.map_or(far, |d| d.0)), if deadline.is_some() => {
            StopReason::Timeout(deadline.map(|d| d.1).unwrap_or_default())
        }
        reason = stop.wait_for(Option::is_some) => match reason {
            Ok(reason) => reason.clone().unwrap_or(StopReason::Cancelled),
            Err(_) => StopReason::Cancelled,
        },
    };
    signal_group(pid, libc::SIGTERM);
    if tokio::time::timeout(TERM_GRACE, child.wait())
        .await
        .is_err()
    {
        signal_group(pid, libc::SIGKILL);
        let _ = child.wait().await;
    }
    Ended::Stopped(reason)
}

fn exit_of(status: std::io::Result<std::process::ExitStatus>) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Ended::Code(code),
            (None, Some(signal)) => Ended::Signal(signal),
            (None, None) => Ended::Code(-1),
        },
        Err(e) => Ended::NotStarted(format!("cannot wait for the script: {e}")),
    }
}

/// Signals the process group `pgid` (the script's pid: it leads its group).
fn signal_group(pgid: u32, signal: i32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        if pgid > 0 {
            // SAFETY: kill(2) with a negative pid signals that process group only.
            unsafe {
                libc::kill(-pgid, signal);
            }
        }
    }
}

/// A pipe being read: what it kept so far (and whether it dropped some), and the reader.
struct Collector {
    kept: Arc<Mutex<(Vec<u8>, bool)>>,
    task: JoinHandle<()>,
}

/// Reads `pipe` to its end, keeping at most `limit` bytes (the first ones, or with
/// `tail` the last ones).
fn collect<R: AsyncRead + Unpin + Send + 'static>(
    mut pipe: R,
    limit: usize,
    tail: bool,
    on_output: Arc<impl Fn(String) + Send + Sync + 'static>,
) -> Collector {
    let kept = Arc::new(Mutex::new((Vec::new(), false)));
    let into = kept.clone();
    let task = tokio::spawn(async move {
        let mut chunk = vec![0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            on_output(String::from_utf8_lossy(&chunk[..n]).into_owned());
            let mut kept = into.lock().unwrap_or_else(|e| e.into_inner());
            kept.0.extend_from_slice(&chunk[..n]);
            if kept.0.len() > limit {
                kept.1 = true;
                let len = kept.0.len();
                if tail {
                    kept.0.drain(..len - limit);
                } else {
                    kept.0.truncate(limit);
                }
            }
        }
    });
    Collector { kept, task }
}

/// What a collector kept, once its pipe closed; a pipe still held open by a process that
/// left the group is given up after [`DRAIN_GRACE`].
async fn drained(collector: Option<Collector>) -> (Vec<u8>, bool) {
    let Some(mut collector) = collector else {
        return (Vec::new(), false);
    };
    if tokio::time::timeout(DRAIN_GRACE, &mut collector.task)
        .await
        .is_err()
    {
        collector.task.abort();
    }
    let mut kept = collector.kept.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::take(&mut *kept)
}
