//! Detached worktrees that weft adds for isolated steps, and finding the ones a run that
//! died left behind. A weft worktree's directory is named `weft-PID-...` after the process
//! that made it, so that the next run can tell a leftover from a tree that a run still
//! going at the same time is using.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::command::Git;
use super::error::GitError;
use super::repo::Repo;

/// `git worktree add` reads every other worktree's administrative files while it makes
/// its own, so two at once can fail: this process adds and removes one at a time (and
/// retries what another process may have raced with).
static WORKTREES: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    WORKTREES.lock().unwrap_or_else(|e| e.into_inner())
}

/// How the directory of every worktree weft adds begins.
pub const WORKTREE_PREFIX: &str = "weft-";

/// The directory name of a worktree of process `pid`, run `run`, for `what` (a step and
/// its element, or its merge).
pub fn worktree_name(pid: u32, run: &str, what: &str) -> String {
    format!("{WORKTREE_PREFIX}{pid}-{run}-{what}")
}

/// The process that made the weft worktree at `path`, when its name says it is one.
pub fn leftover_pid(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix(WORKTREE_PREFIX)?;
    let (pid, run) = rest.split_once('-')?;
    (!run.is_empty()).then_some(())?;
    pid.parse().ok()
}

impl Repo {
    /// Adds a detached worktree at `path` checked out at `commit`.
    pub fn add_worktree(&self, path: &Path, commit: &str) -> Result<(), GitError> {
        let _one = one_at_a_time();
        let add = || {
            Git::new(self.root())
                .args(["worktree", "add", "--detach", "--quiet"])
                .args([path.as_os_str()])
                .args([commit])
                .output()
                .map(drop)
        };
        let mut result = add();
        for pause in [50, 200] {
            if result.is_ok() || path.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(pause));
            result = add();
        }
        result
    }

    /// Removes the worktree at `path` with whatever it holds; a worktree whose directory
    /// is already gone is pruned.
    pub fn remove_worktree(&self, path: &Path) -> Result<(), GitError> {
        let _one = one_at_a_time();
        let removed = Git::new(self.root())
            .args(["worktree", "remove", "--force", "--force"])
            .args([path.as_os_str()])
            .output();
        if removed.is_ok() && !path.exists() {
            return Ok(());
        }
        if path.exists() {
            std::fs::remove_dir_all(path).map_err(|e| GitError::io(path, e))?;
        }
        Git::new(self.root())
            .args(["worktree", "prune"])
            .output()
            .map(drop)
    }

    /// The paths of every worktree of the repository but the main one.
    pub fn worktrees(&self) -> Result<Vec<PathBuf>, GitError> {
        let out = Git::new(self.root())
            .args(["worktree", "list", "--porcelain", "-z"])
            .output()?;
        let paths: Vec<PathBuf> = out
            .split(|b| *b == 0)
            .filter_map(|field| std::str::from_utf8(field).ok()?.strip_prefix("worktree "))
            .map(PathBuf::from)
            .collect();
        Ok(paths.into_iter().skip(1).collect())
    }

    /// Removes the weft worktrees whose process is gone (`alive` says which are not);
    /// returns the paths removed.
    pub fn remove_leftovers(&self, alive: impl Fn(u32) -> bool) -> Result<Vec<PathBuf>, GitError> {
        let mut removed = Vec::new();
        for path in self.worktrees()? {
            let Some(pid) = leftover_pid(&path) else {
                continue;
            };
            if pid != std::process::id() && !alive(pid) {
                self.remove_worktree(&path)?;
                removed.push(path);
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::repo::tests::repo_with;
    use super::*;

    #[test]
    fn worktrees_are_added_detached_listed_and_removed() {
        let (dir, repo) = repo_with(&[("a.txt", "one\n")]);
        let snap = repo.snapshot(&[]).unwrap();
        let path = dir.path().join(worktree_name(4_000_000, "r1", "split.0"));
        repo.add_worktree(&path, &snap.commit).unwrap();
        assert_eq!(
            std::fs::read_to_string(path.join("a.txt")).unwrap(),
            "one\n"
        );
        std::fs::write(path.join("scratch.txt"), "x").unwrap();
        assert_eq!(
            repo.worktrees().unwrap(),
            vec![path.canonicalize().unwrap()]
        );
        let branch = Git::new(repo.root())
            .args(["branch", "--list"])
            .text()
            .unwrap();
        assert_eq!(branch.lines().count(), 1, "no branch was made: {branch}");
        let removed = repo.remove_leftovers(|_| false).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(!path.exists());
        assert!(repo.worktrees().unwrap().is_empty());
    }

    #[test]
    fn a_live_runs_worktrees_and_other_worktrees_are_left_alone() {
        let (dir, repo) = repo_with(&[("a.txt", "one\n")]);
        let snap = repo.snapshot(&[]).unwrap();
        let live = dir.path().join(worktree_name(42, "r1", "a"));
        let theirs = dir.path().join("my-feature");
        repo.add_worktree(&live, &snap.commit).unwrap();
        repo.add_worktree(&theirs, &snap.commit).unwrap();
        assert!(repo.remove_leftovers(|pid| pid == 42).unwrap().is_empty());
        assert_eq!(repo.worktrees().unwrap().len(), 2);
        std::fs::remove_dir_all(&live).unwrap();
        repo.remove_leftovers(|_| false).unwrap();
        assert_eq!(repo.worktrees().unwrap().len(), 1, "the gone one is pruned");
    }

    #[test]
    fn only_weft_names_carry_a_pid() {
        assert_eq!(leftover_pid(Path::new("/tmp/weft-12-r1-a")), Some(12));
        assert_eq!(leftover_pid(Path::new("/tmp/weft-12")), None);
        assert_eq!(leftover_pid(Path::new("/tmp/feature")), None);
        assert_eq!(leftover_pid(Path::new("/tmp/weft-x-r1")), None);
    }
}
