//! No process outlives a run: weft (the `weft run`, `weft resume` and `weft doctor`
//! commands, not the library) becomes a child subreaper on Linux, so a process that leaves
//! the app-server's process group (`setsid`, a double fork) comes back to weft when its
//! parent dies instead of to init; weft reaps those that exit during the run and ends the
//! rest when the run ends (also after Ctrl-C, and after the app-server died).
//!
//! Processes weft starts itself (the app-server, the git commands of isolated steps) are
//! spawned through [`spawn_owned`] or [`output_owned`], which note their pid: the reaper
//! never waits for those, so their exit status stays with whoever started them.
//! On other systems there is no subreaper: weft ends the app-server's process group, and a
//! process that left it survives.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// Pids of the children weft spawned itself (tokio reaps them, not the reaper).
static OWNED: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// The most rounds of ending adopted processes (each round ends the processes whose
/// parents the previous one ended).
const MAX_ROUNDS: usize = 1000;

fn owned() -> MutexGuard<'static, BTreeSet<u32>> {
    OWNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Asks the kernel to `SIGKILL` the child `command` starts when the thread that started it
/// dies, so a weft killed outright (no destructors run) leaves neither the app-server nor
/// a script behind. Elsewhere than Linux it does nothing.
#[cfg(target_os = "linux")]
pub(crate) fn die_with_parent(command: &mut tokio::process::Command) {
    let parent = i32::try_from(std::process::id()).unwrap_or_default();
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
    // functions (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Elsewhere than Linux there is no parent-death signal.
#[cfg(not(target_os = "linux"))]
pub(crate) fn die_with_parent(_command: &mut tokio::process::Command) {}

/// Spawn `command` and note the child as weft's own, atomically: the reaper can never
/// take its exit status, even when it dies at once.
pub(crate) fn spawn_owned(
    command: &mut tokio::process::Command,
) -> std::io::Result<tokio::process::Child> {
    let mut owned = owned();
    let child = command.spawn()?;
    if let Some(pid) = child.id() {
        owned.insert(pid);
    }
    Ok(child)
}

/// Run `command` to its end as a child of weft's own (the git commands of isolated
/// steps): the reaper never takes its exit status, which its caller reads.
pub(crate) fn output_owned(
    command: &mut std::process::Command,
) -> std::io::Result<std::process::Output> {
    let child = {
        let mut owned = owned();
        let child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        owned.insert(child.id());
        child
    };
    let pid = child.id();
    let output = child.wait_with_output();
    release(pid);
    output
}

/// Forget a child of weft's own once its exit status has been taken.
pub(crate) fn release(pid: u32) {
    owned().remove(&pid);
}

/// The subreaper of this process; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaper {
    active: bool,
}

impl Reaper {
    /// Make this process a child subreaper (`PR_SET_CHILD_SUBREAPER`, Linux only). On
    /// other systems, or if the kernel refuses, the reaper does nothing.
    pub fn install() -> Reaper {
        Reaper {
            active: imp::become_subreaper(),
        }
    }

    /// Whether this process is a subreaper.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Reap the adopted processes that have exited (zombies); leave running ones alone.
    /// Returns how many were reaped.
    pub fn reap_exited(&self) -> usize {
        if !self.active {
            return 0;
        }
        let me = std::process::id();
        let owned = owned();
        imp::processes()
            .into_iter()
            .filter(|p| p.parent == me && p.zombie && !owned.contains(&p.pid))
            .filter(|p| imp::reap(p.pid, false))
            .count()
    }

    /// Reap adopted processes as they exit, for as long as the tokio runtime runs (on each
    /// `SIGCHLD`), so a long run collects no zombies.
    pub fn reap_while_running(self) {
        if !self.active {
            return;
        }
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut exits) = signal(SignalKind::child()) else {
                return;
            };
            while exits.recv().await.is_some() {
                self.reap_exited();
            }
        });
    }

    /// End every descendant of this process except the children weft spawned itself
    /// (their owners end them; their descendants are ended here): SIGKILL, then reap the
    /// ones that were handed to this process, round after round until none is left (ending
    /// a process hands its children to this one). Call it once the app-server is stopped.
    /// Returns how many processes were reaped.
    pub fn end_adopted(&self) -> usize {
        if !self.active {
            return 0;
        }
        let me = std::process::id();
        let mut reaped = 0;
        for round in 0..MAX_ROUNDS {
            let owned = owned().clone();
            let all = imp::processes();
            let left: Vec<&imp::Process> = descendants(&all, me)
                .into_iter()
                .filter(|p| !owned.contains(&p.pid))
                .collect();
            if left.is_empty() {
                break;
            }
            for process in &left {
                imp::kill(process.pid);
            }
            let mine = left.iter().filter(|p| p.parent == me);
            let reaped_now = mine.filter(|p| imp::reap(p.pid, true)).count();
            reaped += reaped_now;
            if reaped_now == 0 && round > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        reaped
    }
}

/// The descendants of `root` among `all`, parents before children.
fn descendants(all: &[imp::Process], root: u32) -> Vec<&imp::Process> {
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for process in all.iter().filter(|p| p.parent == parent) {
            found.push(process);
            parents.push(process.pid);
        }
    }
    found
}

/// The reaper of the running `weft` command, if it installed one: for the paths that
/// exit at once (a second Ctrl-C).
static INSTALLED: Mutex<Option<Reaper>> = Mutex::new(None);

/// Install the reaper for this `weft` command and remember it for [`end_installed`].
pub fn install_for_command() -> Reaper {
    let reaper = Reaper::install();
    *INSTALLED.lock().unwrap_or_else(|e| e.into_inner()) = Some(reaper);
    reaper
}

/// End the adopted processes of the reaper [`install_for_command`] installed, if any.
pub fn end_installed() {
    let installed = *INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(reaper) = installed {
        reaper.end_adopted();
    }
}

#[cfg(target_os = "linux")]
mod imp {
    /// A process: its pid, its parent's, and whether it has exited (a zombie).
    pub struct Process {
        pub pid: u32,
        pub parent: u32,
        pub zombie: bool,
    }

    pub fn become_subreaper() -> bool {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
    }

    /// Every process of the system, from `/proc/<pid>/stat`.
    pub fn processes() -> Vec<Process> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let (_, rest) = stat.rsplit_once(')')?;
                let mut fields = rest.split_whitespace();
                let state = fields.next()?;
                let parent: u32 = fields.next()?.parse().ok()?;
                Some(Process {
                    pid,
                    parent,
                    zombie: state == "Z",
                })
            })
            .collect()
    }

    pub fn kill(pid: u32) {
        if let Ok(pid) = i32::try_from(pid) {
            // SAFETY: kill(2) on a child of this process.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }

    /// Take the exit status of child `pid`; with `block`, wait for it to exit.
    pub fn reap(pid: u32, block: bool) -> bool {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        let flags = if block { 0 } else { libc::WNOHANG };
        let mut status = 0;
        // SAFETY: waitpid on one child of this process, with a valid status pointer.
        unsafe { libc::waitpid(pid, &mut status, flags) == pid }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub struct Process {
        pub pid: u32,
        pub parent: u32,
        pub zombie: bool,
    }

    pub fn become_subreaper() -> bool {
        false
    }

    pub fn processes() -> Vec<Process> {
        Vec::new()
    }

    pub fn kill(_pid: u32) {}

    pub fn reap(_pid: u32, _block: bool) -> bool {
        false
    }
}
