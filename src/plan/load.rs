//! `load`: a workflow file checked and planned in one pass, every problem reported at once:
//! the file's own ([`crate::workflow::check`]) and the planner's (cycles, impossible forks).
//! What `weft validate`, `plan`, `run` and `resume` start from.

use std::path::{Path, PathBuf};

use super::build::Plan;
use crate::workflow::{self, Checked, LoadError, Workflow};

/// Load, check and plan the workflow file at `path`.
pub fn load(path: impl AsRef<Path>) -> Result<(Workflow, Plan), LoadError> {
    finish(workflow::check(path)?)
}

/// Load, check and plan a workflow from `text`, as if read from `path`, with relative
/// paths under `base_dir`.
pub fn load_str(
    path: impl Into<PathBuf>,
    text: impl Into<String>,
    base_dir: &Path,
) -> Result<(Workflow, Plan), LoadError> {
    finish(workflow::check_str(path, text, base_dir))
}

/// Plans what was built of the file (even with problems, so that a cycle is reported
/// beside them); succeeds only when nothing at all is wrong.
fn finish(mut checked: Checked) -> Result<(Workflow, Plan), LoadError> {
    match checked.workflow.as_ref().map(Plan::build) {
        Some(Ok(plan)) => checked.into_result().map(|workflow| (workflow, plan)),
        Some(Err(problems)) => {
            checked.diagnostics.extend(problems.0);
            Err(checked.into_error())
        }
        None => Err(checked.into_error()),
    }
}
