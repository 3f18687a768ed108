//! [`CacheRun`]: the cache a run reads and writes, and what the keys of its units share
//! (the codex they run on, where files are read).

use serde_json::Value;

use std::sync::Arc;

use crate::engine::cache::{Files, Store, TreePrint};
use crate::engine::spec::{StepSpec, ThreadMode};
use crate::plan::Eligible;
use crate::redact::Redactor;
use crate::vocab::Isolation;

/// The result cache of a run.
#[derive(Debug, Clone)]
pub struct CacheRun {
    pub store: Store,
    /// Where its steps read files, and weft's own files (left out of fingerprints).
    pub files: Files,
    /// The codex its turns run on (version, configuration): part of every turn's key.
    pub codex: Value,
    /// The workflow's name: with a step's id, where a step's last key parts are noted.
    pub workflow: String,
    /// `--cache`: every step that can be cached is, whatever it says.
    pub all: bool,
    /// The working tree's id, shared until a unit that can change files starts or ends.
    pub print: Arc<TreePrint>,
    /// The run's secrets: a result that holds one is never stored.
    pub secrets: Redactor,
}

impl CacheRun {
    /// Whether `step`'s units are looked up and stored.
    pub fn wants(&self, step: &StepSpec) -> bool {
        (self.all || step.cache) && eligibility(step).declined().is_none()
    }
}

/// Whether units of `step` can change the working tree (so that its fingerprint is taken
/// again when one starts or ends).
pub fn changes_tree(step: &StepSpec) -> bool {
    let e = eligibility(step);
    e.isolated || e.writes || e.may_write()
}

/// What decides whether `step` can be cached at all.
pub fn eligibility(step: &StepSpec) -> Eligible {
    Eligible {
        kind: step.kind.name().as_str(),
        looping: step.looping.is_some(),
        call: step.call.is_some(),
        fresh_thread: step.thread == ThreadMode::Fresh,
        repair: step.repairs.is_some(),
        isolated: step.isolation == Isolation::Worktree,
        writes: step.writes.is_some(),
        sandbox: step.sandbox,
        approval: step.approval,
        approves: !step.approve_commands.is_empty() || !step.approve_files.is_empty(),
    }
}
