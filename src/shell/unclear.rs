//! Why weft cannot vouch for a command: the reason a request is declined.

use std::fmt;

/// Something in a command whose effect is only known when it runs, or that weft does not
/// read; a request containing it is declined (unless an exact pattern names the script).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclear {
    reason: String,
}

impl Unclear {
    /// An unclear part, described by `reason` (lowercase, names in back-ticks).
    pub fn new(reason: impl Into<String>) -> Unclear {
        Unclear {
            reason: reason.into(),
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Unclear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}
