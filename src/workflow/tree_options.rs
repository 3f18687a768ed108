//! `isolation` and `writes`, as `defaults` and a step write them: which working tree a
//! step edits, and which paths it may change. (`on_conflict` is the step's own.)

use super::spanned::Spanned;
use crate::vocab::Isolation;

/// A step's working-tree options; each one replaces the inherited one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TreeOptions {
    /// `isolation`: `none` (the shared working tree) or `worktree`.
    pub isolation: Option<Spanned<Isolation>>,
    /// `writes`: glob patterns over the paths the step may change, relative to its `cwd`.
    pub writes: Option<Spanned<Vec<String>>>,
}

impl TreeOptions {
    /// Field by field, `over` wins where it says something.
    pub fn overlay(&self, over: &TreeOptions) -> TreeOptions {
        TreeOptions {
            isolation: over.isolation.clone().or_else(|| self.isolation.clone()),
            writes: over.writes.clone().or_else(|| self.writes.clone()),
        }
    }

    /// The effective isolation.
    pub fn isolation(&self) -> Isolation {
        self.isolation.as_ref().map(|i| i.value).unwrap_or_default()
    }
}

impl super::model::Workflow {
    /// The step whose conflicts step `id` repairs (whose `on_conflict` names it).
    pub fn repair_of(&self, id: &str) -> Option<&super::model::Step> {
        self.steps.iter().find(|s| {
            s.on_conflict
                .as_ref()
                .is_some_and(|r| r.value == id && s.id.value != id)
        })
    }

    /// The effective `isolation` and `writes` of `step` (`defaults`, then the step).
    pub fn tree_options(&self, step: &super::model::Step) -> TreeOptions {
        self.defaults.tree.overlay(&step.options.tree)
    }
}
