//! One git invocation: in a directory, with a clean environment (nothing inherited can
//! point it at another repository or index), no hooks, no pager, and a fixed identity for
//! the snapshot commits weft makes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::GitError;

/// Environment variables that would make git act on something else than asked.
const CLEARED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_CONFIG_PARAMETERS",
    "GIT_EXTERNAL_DIFF",
    "GIT_DIFF_OPTS",
];

/// A git command being built.
pub struct Git {
    cmd: Command,
    shown: Vec<String>,
}

impl Git {
    /// `git` run in `dir`.
    pub fn new(dir: &Path) -> Self {
        let mut cmd = Command::new("git");
        cmd.current_dir(dir)
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "core.quotePath=false",
            ])
            .args([
                "-c",
                "commit.gpgSign=false",
                "-c",
                "advice.detachedHead=false",
            ])
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("GIT_AUTHOR_NAME", "weft")
            .env("GIT_AUTHOR_EMAIL", "weft@localhost")
            .env("GIT_COMMITTER_NAME", "weft")
            .env("GIT_COMMITTER_EMAIL", "weft@localhost")
            .env("GIT_AUTHOR_DATE", "@0 +0000")
            .env("GIT_COMMITTER_DATE", "@0 +0000")
            .stdin(Stdio::null());
        for name in CLEARED {
            cmd.env_remove(name);
        }
        Self {
            cmd,
            shown: Vec::new(),
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.shown.push(arg.as_ref().to_string_lossy().into_owned());
            self.cmd.arg(arg);
        }
        self
    }

    /// Uses `index` as the index instead of the repository's.
    pub fn index(mut self, index: &Path) -> Self {
        self.cmd.env("GIT_INDEX_FILE", index);
        self
    }

    /// Runs it; its stdout when it succeeds.
    pub fn output(mut self) -> Result<Vec<u8>, GitError> {
        let out = crate::reaper::output_owned(&mut self.cmd).map_err(GitError::Spawn)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Failed {
                args: self.shown.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// Runs it; its stdout as trimmed text.
    pub fn text(self) -> Result<String, GitError> {
        let bytes = self.output()?;
        Ok(String::from_utf8_lossy(&bytes).trim().to_string())
    }

    /// Runs it; whether it succeeded, and its stdout and stderr either way.
    pub fn status(mut self) -> Result<(bool, String, String), GitError> {
        let out = crate::reaper::output_owned(&mut self.cmd).map_err(GitError::Spawn)?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// `path` as a pathspec relative to the top of the repository.
pub(super) fn top_pathspec(prefix: &str, rel: &Path) -> String {
    let text = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    format!(":({prefix}){text}")
}

/// `path` made absolute against `base` when it is relative.
pub(super) fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
