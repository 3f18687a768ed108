//! Why a git command failed.

use std::path::PathBuf;

/// A git command that could not run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program could not be started.
    #[error("cannot run `git`: {0}")]
    Spawn(std::io::Error),
    /// It ran and failed; `stderr` says why.
    #[error("`git {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
    /// A file weft keeps beside git (a temporary index, a patch) could not be handled.
    #[error("cannot use `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl GitError {
    pub(super) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        GitError::Io {
            path: path.into(),
            source,
        }
    }
}
