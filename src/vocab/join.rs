//! When a step runs, given how its upstream steps ended (`join:`).

use serde::{Deserialize, Serialize};

/// Which upstream results let a step run. Skipped-by-`if` upstream steps count as done,
/// never as succeeded; an upstream step that was interrupted stops every join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// Every upstream step succeeded (a failure allowed by `continue_on_error` counts as
    /// done). The default.
    #[default]
    AllSucceeded,
    /// At least one upstream step succeeded.
    AnySucceeded,
    /// Every upstream step is done, however it ended (GitHub Actions' `if: always()`).
    AllDone,
}

impl Join {
    /// The spelling in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Join::AllSucceeded => "all_succeeded",
            Join::AnySucceeded => "any_succeeded",
            Join::AllDone => "all_done",
        }
    }
}
