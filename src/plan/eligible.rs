//! [`Eligible`]: whether a step's results can be served from the cache at all, from what
//! the step is; the same answer for `weft validate` (a warning on `cache: true`), `weft
//! plan --cache` and the engine (which then never looks the step up).

use crate::vocab::{Approval, Sandbox};

/// What decides whether a step can be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    /// `turn`, `script` or `gate`.
    pub kind: &'static str,
    /// It has `loop:`.
    pub looping: bool,
    /// It calls another workflow (`uses`): its parts are cached on their own.
    pub call: bool,
    /// Its turns run on a new thread each (not a named, forked or resumed one).
    pub fresh_thread: bool,
    /// It repairs another step's conflicts.
    pub repair: bool,
    /// `isolation: worktree`.
    pub isolated: bool,
    /// It has `writes` (its changes in the shared tree are recorded as a patch).
    pub writes: bool,
    pub sandbox: Sandbox,
    pub approval: Approval,
    /// It has approval rules (`approvals.commands` or `approvals.files`).
    pub approves: bool,
}

impl Eligible {
    /// Why the step is never served from the cache; `None` when it can be.
    pub fn declined(&self) -> Option<&'static str> {
        if self.kind == "gate" {
            return Some("a gate is never cached: a person answers it");
        }
        if self.call {
            return Some("a step with `uses` is not cached itself (its steps can be)");
        }
        if self.looping {
            return Some("a step with `loop` is not cached");
        }
        if self.repair {
            return Some("a repair step is not cached");
        }
        if self.kind == "turn" && !self.fresh_thread {
            return Some(
                "a turn on a named, forked or resumed thread is not cached (the thread would not hold the turn served)",
            );
        }
        if !self.isolated && !self.writes && self.may_write() {
            return Some(
                "it may change files and has no patch to replay them: give it `isolation: worktree` or `writes`",
            );
        }
        None
    }

    /// Whether it can change files (not counting `isolation` and `writes`): a script can; a turn outside the `read-only` sandbox,
    /// or one whose requests weft may approve.
    pub fn may_write(&self) -> bool {
        self.kind == "script"
            || self.sandbox != Sandbox::ReadOnly
            || (self.approval != Approval::Never && self.approves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> Eligible {
        Eligible {
            kind: "turn",
            looping: false,
            call: false,
            fresh_thread: true,
            repair: false,
            isolated: false,
            writes: false,
            sandbox: Sandbox::ReadOnly,
            approval: Approval::Never,
            approves: false,
        }
    }

    #[test]
    fn read_only_fresh_turns_and_recorded_changes_are_cacheable() {
        assert_eq!(turn().declined(), None);
        let writer = Eligible {
            sandbox: Sandbox::WorkspaceWrite,
            ..turn()
        };
        assert!(writer.declined().unwrap().contains("`writes`"));
        assert_eq!(
            Eligible {
                isolated: true,
                ..writer.clone()
            }
            .declined(),
            None
        );
        assert_eq!(
            Eligible {
                writes: true,
                ..writer
            }
            .declined(),
            None
        );
        let script = Eligible {
            kind: "script",
            ..turn()
        };
        assert!(script.declined().is_some());
        assert_eq!(
            Eligible {
                writes: true,
                ..script
            }
            .declined(),
            None
        );
    }

    #[test]
    fn gates_loops_threads_and_repairs_are_declined() {
        for step in [
            Eligible {
                kind: "gate",
                ..turn()
            },
            Eligible {
                looping: true,
                ..turn()
            },
            Eligible {
                fresh_thread: false,
                ..turn()
            },
            Eligible {
                repair: true,
                ..turn()
            },
            Eligible {
                call: true,
                ..turn()
            },
            Eligible {
                approval: Approval::OnRequest,
                approves: true,
                ..turn()
            },
        ] {
            assert!(step.declined().is_some(), "{step:?}");
        }
    }
}
