//! The error type of the `weft` command line, and the exit code each kind of failure
//! gives. Subcommands return it; [`crate::cli::run`] writes it to the error writer it was
//! given and exits with [`Error::exit_code`].

use std::path::PathBuf;

use crate::cassette::{CassetteError, ProviderError};
use crate::report::RecordError;
use crate::workflow::LoadError;
use crate::workflow::inputs::InputError;

/// Every step succeeded (or was skipped by its `if`).
pub const EXIT_SUCCESS: i32 = 0;
/// A step failed.
pub const EXIT_STEP_FAILED: i32 = 1;
/// The workflow file, its inputs or the command line are invalid.
pub const EXIT_INVALID: i32 = 2;
/// The agent could not be reached or broke the protocol.
pub const EXIT_AGENT: i32 = 3;
/// The run stopped at a gate that waits for an answer (`weft resume RUN --approve STEP`).
pub const EXIT_WAITING: i32 = 4;
/// The run was interrupted (Ctrl-C, SIGTERM).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Why a `weft` command could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A workflow file is invalid; the message is its diagnostics.
    #[error("{}", .0.render())]
    Workflow(#[from] LoadError),
    /// `weft resume`: the run's workflow file does not load any more.
    #[error("cannot resume run {run}: its workflow `{}` does not load:\n{}", path.display(), source.render())]
    ResumeWorkflow {
        run: String,
        path: PathBuf,
        source: LoadError,
    },
    /// `weft resume`: the workflow changed since the run started.
    #[error(
        "the workflow `{}` changed since run {run} started: step {changes}\n\
         help: `weft resume {run} --allow-changed` runs the changed steps and everything \
         downstream of them again; `weft run` starts afresh",
        path.display()
    )]
    WorkflowChanged {
        run: String,
        path: PathBuf,
        /// The changed steps: "`a` (changed), `b` (added)".
        changes: String,
    },
    /// Inputs that do not match the workflow's declarations.
    #[error(transparent)]
    Inputs(#[from] InputError),
    /// A run record that cannot be found or read.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A cassette that cannot be read.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// The model provider cannot be recorded through.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A file or directory weft was asked to read or write.
    #[error("{what}: {source}")]
    Io {
        /// What weft could not do: "cannot write events to `x.jsonl`".
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The command line asks for something weft cannot do.
    #[error("{0}")]
    Usage(String),
    /// The agent could not be started or reached.
    #[error("{0}")]
    Agent(String),
    /// A check failed (a `weft test` replay differs from its expectations).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Agent(_) => EXIT_AGENT,
            Error::Failed(_) => EXIT_STEP_FAILED,
            Error::Workflow(_)
            | Error::ResumeWorkflow { .. }
            | Error::WorkflowChanged { .. }
            | Error::Inputs(_)
            | Error::Record(_)
            | Error::Cassette(_)
            | Error::Provider(_)
            | Error::Io { .. }
            | Error::Usage(_) => EXIT_INVALID,
        }
    }

    /// `Error::Io` for `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// The error as weft prints it: diagnostics as they are, anything else as `error: …`.
    pub fn render(&self) -> String {
        match self {
            Error::Workflow(_) => self.to_string(),
            other => format!("error: {other}"),
        }
    }
}
