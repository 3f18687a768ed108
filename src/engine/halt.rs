//! Why a run starts nothing new: interrupted, a failure under `--fail-fast`, the agent
//! gone, or a run-wide limit.

use super::agent::StopReason;
use super::unit::describe_stop;

/// Why no new step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Halt {
    Cancelled,
    FailFast(String),
    Fatal,
    Stopped(StopReason),
}

impl Halt {
    /// Why the steps that did not run were skipped.
    pub(super) fn reason(&self) -> String {
        match self {
            Halt::Cancelled => "the run was interrupted".to_string(),
            Halt::FailFast(step) => format!("`{step}` failed and --fail-fast is set"),
            Halt::Fatal => "the agent stopped working".to_string(),
            Halt::Stopped(r) => describe_stop(r),
        }
    }
}
