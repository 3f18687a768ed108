//! Where each step of a run stands: waiting, running (its units, started and finished),
//! or done with its record. The scheduler owns the table; these are its cells.

use std::time::Instant;

use serde_json::Value;

use super::agent::Usage;
use super::event::Status;
use super::outcome::StepRecord;
use super::shard::Shard;
use super::spec::{StepSpec, UnitKind};
use super::tree::Conflict;
use super::unit::{UnitKey, UnitResult};

/// One step's state.
pub(super) enum StepState {
    Pending,
    Running(Running),
    /// A step that `uses` a workflow, opened at this instant: its parts run.
    Calling(Instant),
    Done(Box<StepRecord>),
}

/// What a succeeded isolated step waits for before it is done, its record held.
pub(super) enum Closing {
    /// The merge of its patches into the working tree (a unit runs).
    Merging(StepRecord),
    /// Its repair step, working in the merge tree.
    Repairing(StepRecord, Box<Conflict>),
    /// The repaired tree being applied, or discarded (a unit runs).
    Finishing(StepRecord),
}

/// A step whose units are being run.
pub(super) struct Running {
    /// The fan-out elements this run runs (`None`: the step is one unit).
    pub items: Option<Vec<Value>>,
    /// The index of each of them in the whole fan-out (a shard runs some of them).
    pub indexes: Vec<usize>,
    /// How many elements the whole fan-out has (`loop.length`).
    pub length: usize,
    /// The next slot to start.
    pub next: usize,
    /// Slots started and not finished.
    pub active: usize,
    /// One per slot, in element order.
    pub results: Vec<Option<UnitResult>>,
    pub started: Instant,
    /// Set once its units are done and it brings their changes back.
    pub closing: Option<Box<Closing>>,
}

impl Running {
    pub fn new(items: Option<Vec<Value>>) -> Self {
        let total = items.as_ref().map_or(1, Vec::len);
        Self {
            items,
            indexes: (0..total).collect(),
            length: total,
            next: 0,
            active: 0,
            results: vec![None; total],
            started: Instant::now(),
            closing: None,
        }
    }

    /// Step `step` with the elements it was admitted with; of a sharded fan-out, the
    /// shard's elements only.
    pub fn admitted(items: Option<Vec<Value>>, shard: Option<Shard>, step: usize) -> Self {
        match (items, shard) {
            (Some(items), Some(shard)) if shard.step == step => {
                let mine = shard.elements(items.len());
                Self::some_of(items, mine)
            }
            (items, _) => Self::new(items),
        }
    }

    /// The fan-out's elements at `indexes` only (a shard's).
    fn some_of(items: Vec<Value>, indexes: Vec<usize>) -> Self {
        let length = items.len();
        let picked: Vec<Value> = indexes
            .iter()
            .filter_map(|&i| items.get(i).cloned())
            .collect();
        let mut running = Self::new(Some(picked));
        running.indexes = indexes;
        running.length = length;
        running
    }

    /// How many units the step runs.
    pub fn total(&self) -> usize {
        self.results.len()
    }

    /// The slot of fan-out element `index`.
    fn slot(&self, index: Option<usize>) -> usize {
        index.map_or(0, |ix| self.indexes.binary_search(&ix).unwrap_or(0))
    }

    pub fn fan_out(&self) -> bool {
        self.items.is_some()
    }

    /// The `for_each` item of fan-out element `index`.
    pub fn item(&self, index: Option<usize>) -> Option<Value> {
        let slot = self.indexes.binary_search(&index?).ok()?;
        self.items.as_ref()?.get(slot).cloned()
    }

    /// Takes element `index` of step `step` as an earlier session finished it, when it
    /// succeeded there with this same `item` and has no result here yet; whether it did.
    pub fn keep(&mut self, step: usize, index: usize, item: &Value, rec: &StepRecord) -> bool {
        let Ok(slot) = self.indexes.binary_search(&index) else {
            return false;
        };
        let same = self.items.as_ref().and_then(|items| items.get(slot)) == Some(item);
        if !same || rec.status != Status::Succeeded || self.results[slot].is_some() {
            return false;
        }
        let key = UnitKey {
            step,
            index: Some(index),
        };
        self.results[slot] = Some(UnitResult::kept(key, rec));
        true
    }

    /// Takes the next slot of step `step` when fewer than `limit` run: its key and element.
    /// Slots kept from an earlier session are passed over.
    pub fn take_slot(&mut self, step: usize, limit: usize) -> Option<(UnitKey, Option<Value>)> {
        while self.next < self.total() && self.results[self.next].is_some() {
            self.next += 1;
        }
        if self.next >= self.total() || self.active >= limit {
            return None;
        }
        let slot = self.next;
        self.next += 1;
        self.active += 1;
        let index = self.items.as_ref().map(|_| self.indexes[slot]);
        let item = self.items.as_ref().map(|items| items[slot].clone());
        Some((UnitKey { step, index }, item))
    }

    /// Stores a unit's result; true when every slot has one.
    pub fn finish(&mut self, result: UnitResult) -> bool {
        self.active = self.active.saturating_sub(1);
        let slot = self.slot(result.key.index);
        self.results[slot] = Some(result);
        self.complete()
    }

    /// Gives every slot that never started a skipped result, for `reason`.
    pub fn skip_rest(&mut self, step: usize, reason: &str) {
        let fan_out = self.fan_out();
        for (slot, result) in self.results.iter_mut().enumerate() {
            if result.is_none() {
                let key = UnitKey {
                    step,
                    index: fan_out.then_some(self.indexes[slot]),
                };
                *result = Some(UnitResult::skipped(key, reason.to_string()));
            }
        }
    }

    /// Whether every slot has a result.
    pub fn complete(&self) -> bool {
        self.results.iter().all(Option::is_some)
    }

    /// The usage of the units finished so far.
    pub fn usage(&self) -> Usage {
        let mut total = Usage::default();
        for r in self.results.iter().flatten() {
            total.add(&r.usage);
        }
        total
    }

    /// The record of `step` from its units' results: interrupted if one was, skipped if
    /// all were, succeeded if all did, failed if one did, else waiting (a gate); a
    /// fan-out's output (and exit codes, stderr, iterations) is the list of its elements',
    /// in order.
    pub fn record(&self, step: &StepSpec) -> StepRecord {
        let results: Vec<&UnitResult> = self.results.iter().flatten().collect();
        let status = status_of(&results);
        let fan_out = self.fan_out();
        let each = |get: &dyn Fn(&UnitResult) -> Option<Value>| {
            if fan_out {
                Some(Value::Array(
                    results
                        .iter()
                        .map(|r| get(r).unwrap_or(Value::Null))
                        .collect(),
                ))
            } else {
                results.first().and_then(|r| get(r))
            }
        };
        let output = each(&|r| Some(r.output.clone())).unwrap_or(Value::Null);
        let error = results.iter().find_map(|r| {
            r.error
                .as_ref()
                .filter(|_| r.status != Status::Succeeded)
                .map(|e| match r.key.index {
                    Some(ix) if fan_out => format!("element {ix}: {e}"),
                    _ => e.clone(),
                })
        });
        let mut thread_ids: Vec<&String> = results
            .iter()
            .filter_map(|r| r.thread_id.as_ref())
            .collect();
        thread_ids.dedup();
        let script = matches!(step.kind, UnitKind::Script(_));
        let mut record = StepRecord::early(&step.id, status, String::new());
        record.output = output;
        record.error = error;
        record.thread_id = (thread_ids.len() == 1).then(|| thread_ids[0].clone());
        record.usage = self.usage();
        record.attempts = results.iter().map(|r| r.attempts).max().unwrap_or(0);
        record.duration_ms = self.started.elapsed().as_millis() as u64;
        if script {
            record.exit_code = each(&|r| r.exit_code.map(Value::from));
            record.stderr = each(&|r| r.stderr.clone().map(Value::String));
        }
        if step.looping.is_some() {
            record.iterations = each(&|r| r.iterations.clone().map(Value::Array));
        }
        record.patch = results
            .first()
            .filter(|_| !fan_out)
            .and_then(|r| r.patch.as_deref().cloned());
        record.cached = !results.is_empty() && results.iter().all(|r| r.cached.is_some());
        record.saved = results.iter().filter_map(|r| r.cached).reduce(|mut a, b| {
            a.add(&b);
            a
        });
        record.of_kind(step)
    }
}

/// A step's status from its units': interrupted if one was, skipped if all were,
/// succeeded if all did, waiting if the rest did, else failed.
fn status_of(results: &[&UnitResult]) -> Status {
    let all = |s: Status| results.iter().all(|r| r.status == s);
    if results.iter().any(|r| r.status == Status::Interrupted) {
        Status::Interrupted
    } else if all(Status::Skipped) {
        Status::Skipped
    } else if all(Status::Succeeded) {
        Status::Succeeded
    } else if results
        .iter()
        .all(|r| matches!(r.status, Status::Succeeded | Status::Waiting))
    {
        Status::Waiting
    } else {
        Status::Failed
    }
}
