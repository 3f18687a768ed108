//! How the scheduler closes an isolated step that succeeded: its units' patches are
//! merged and applied by a closing unit ([`Merge`]) before the step is done; when they
//! conflict and the step has `on_conflict`, its repair step runs in the merge tree (with
//! the conflict in its context as `conflict`), then another closing unit ([`Finish`])
//! applies the repaired tree, or discards it when the repair failed. The step's record is
//! held meanwhile, so that its dependents wait for its changes.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Scheduler;
use crate::engine::event::Status;
use crate::engine::launch::UnitInput;
use crate::engine::outcome::StepRecord;
use crate::engine::spec::RunSpec;
use crate::engine::step_state::{Closing, Running, StepState};
use crate::engine::tree::{Conflict, Finish, Merge, MergeTree, Patch, WriteScope};
use crate::engine::unit::{UnitKey, UnitResult};
use crate::vocab::Isolation;

/// Why a repair step did not run: the step it repairs had nothing to repair.
pub(super) fn no_conflict(spec: &RunSpec, i: usize) -> String {
    let target = spec.steps[i]
        .repairs
        .map_or("", |s| spec.steps[s].id.as_str());
    format!("`{target}` had no conflict to repair")
}

impl Scheduler<'_> {
    /// Whether step `i` is closing: its units are done, a closing unit or its repair runs.
    pub(super) fn is_closing(&self, i: usize) -> bool {
        matches!(&self.steps[i], StepState::Running(r) if r.closing.is_some())
    }

    /// Starts closing step `i` when it succeeded in worktrees that changed files (its
    /// record held until it is done); otherwise gives `rec` back.
    pub(super) fn close(&mut self, i: usize, rec: StepRecord) -> Option<StepRecord> {
        let step = &self.spec.steps[i];
        let isolated = step.isolation == Isolation::Worktree && step.repairs.is_none();
        let (Some(setup), StepState::Running(running)) = (&self.spec.tree, &mut self.steps[i])
        else {
            return Some(rec);
        };
        if rec.status != Status::Succeeded || !isolated {
            return Some(rec);
        }
        let patches: Vec<(Option<usize>, Patch)> = running
            .results
            .iter()
            .flatten()
            .filter_map(|r| Some((r.key.index, r.patch.as_deref()?.clone())))
            .collect();
        if patches.is_empty() {
            return Some(rec);
        }
        let key = UnitKey {
            step: i,
            index: None,
        };
        let merge = Merge {
            key,
            step: step.id.clone(),
            setup: Arc::new(setup.clone()),
            patches,
            repair: step.on_conflict.is_some() && self.halt.is_none(),
        };
        running.closing = Some(Box::new(Closing::Merging(rec)));
        self.mark_tree(key.step);
        self.executor.start(key, Box::new(merge));
        None
    }

    /// A closing unit's result: the step is done, or its repair starts.
    pub(super) fn on_closed(&mut self, result: UnitResult) {
        let i = result.key.step;
        let StepState::Running(running) = &mut self.steps[i] else {
            return;
        };
        let (mut rec, merging) = match running.closing.take().map(|c| *c) {
            Some(Closing::Merging(rec)) => (rec, true),
            Some(Closing::Finishing(rec)) => (rec, false),
            other => {
                running.closing = other.map(Box::new);
                return;
            }
        };
        if let (true, Some(conflict), Some(r)) =
            (merging, &result.conflict, self.spec.steps[i].on_conflict)
        {
            if conflict.tree.is_some() && self.halt.is_none() {
                return self.repair(i, r, rec, conflict.clone());
            }
            if conflict.tree.is_some() {
                let rid = &self.spec.steps[r].id;
                let why = format!(
                    "its patches conflict:\n{}\nthe run stopped before repair step `{rid}` ran",
                    conflict.message
                );
                return self.apply_repaired(i, rec, conflict.tree.clone(), Err(why));
            }
        }
        rec.patch = result.patch.map(|p| *p);
        let error = (result.status != Status::Succeeded).then(|| result.error.unwrap_or_default());
        self.end_closing(i, rec, error);
    }

    /// Records closing step `i`, failed with `error` when there is one.
    fn end_closing(&mut self, i: usize, mut rec: StepRecord, error: Option<String>) {
        if let Some(error) = error {
            rec.status = Status::Failed;
            rec.error = Some(error);
        }
        let failed = rec.status == Status::Failed;
        self.record(i, rec);
        if failed {
            self.after_failure(i);
        }
    }

    /// Runs repair step `r` of step `i` in the merge tree, `conflict` in its context.
    fn repair(&mut self, i: usize, r: usize, rec: StepRecord, conflict: Box<Conflict>) {
        let mut context = self.context();
        if let Some(steps) = context.get_mut("steps").and_then(Value::as_object_mut) {
            steps.insert(rec.id.clone(), record_context(&rec));
        }
        if let Value::Object(map) = &mut context {
            map.insert("conflict".into(), conflict.context(&rec.id));
        }
        let tree = conflict.tree.clone();
        if let StepState::Running(running) = &mut self.steps[i] {
            running.closing = Some(Box::new(Closing::Repairing(rec, conflict)));
        }
        let mut running = Running::new(None);
        let Some((key, _)) = running.take_slot(r, 1) else {
            return;
        };
        self.steps[r] = StepState::Running(running);
        let input = UnitInput {
            key,
            step: &self.spec.steps[r],
            context: &context,
            threads: &self.threads,
            renderer: &self.renderer,
            saved: Vec::new(),
            within: tree.as_ref(),
            release: self.releases.unit(r),
        };
        match self.units.make(input) {
            Ok(unit) => {
                self.mark_tree(key.step);
                self.executor.start(key, unit)
            }
            Err(error) => self.on_result(UnitResult::failed(key, error.to_string())),
        }
    }

    /// After step `r` is recorded: when it is the repair a step waits for, that step's
    /// repaired tree is applied (or, when the repair failed, discarded).
    pub(super) fn repaired(&mut self, r: usize) {
        let (Some(s), StepState::Done(repair)) = (self.spec.steps[r].repairs, &self.steps[r])
        else {
            return;
        };
        let (status, error) = (repair.status, repair.error.clone());
        let StepState::Running(running) = &mut self.steps[s] else {
            return;
        };
        let Some(Closing::Repairing(rec, conflict)) = running.closing.take().map(|c| *c) else {
            return;
        };
        let rid = &self.spec.steps[r].id;
        let repaired = match status {
            Status::Succeeded => Ok(rid.clone()),
            other => Err(format!(
                "its patches conflict:\n{}\nrepair step `{rid}` {}: {}",
                conflict.message,
                other.as_str(),
                error.as_deref().unwrap_or("it did not succeed")
            )),
        };
        self.apply_repaired(s, rec, conflict.tree, repaired);
    }

    /// Applies step `s`'s repaired merge `tree` (or discards it, failing the step, when
    /// `repaired` says why) with a closing unit.
    fn apply_repaired(
        &mut self,
        s: usize,
        rec: StepRecord,
        tree: Option<MergeTree>,
        repaired: Result<String, String>,
    ) {
        let step = &self.spec.steps[s];
        let (Some(setup), Some(tree)) = (&self.spec.tree, tree) else {
            let why = repaired
                .err()
                .unwrap_or_else(|| "its merge tree is gone".into());
            return self.end_closing(s, rec, Some(why));
        };
        let scope = step.writes.as_ref().map(|patterns| WriteScope {
            patterns: patterns.clone(),
            cwd: setup.relative(&step.cwd).unwrap_or_default(),
        });
        let key = UnitKey {
            step: s,
            index: None,
        };
        let finish = Finish {
            key,
            step: step.id.clone(),
            setup: Arc::new(setup.clone()),
            tree,
            repaired,
            scope,
        };
        if let StepState::Running(running) = &mut self.steps[s] {
            running.closing = Some(Box::new(Closing::Finishing(rec)));
        }
        self.mark_tree(key.step);
        self.executor.start(key, Box::new(finish));
    }
}

/// `steps.<id>` of a step not yet done, as a repair step reads it.
fn record_context(rec: &StepRecord) -> Value {
    json!({
        "output": rec.output,
        "status": rec.status.as_str(),
        "thread_id": rec.thread_id,
        "usage": rec.usage,
    })
}
