//! Where each step of a run stands: waiting, running (its units, started and finished),
//! or done with its record. The scheduler owns the table; these are its cells.

use std::time::Instant;

use serde_json::Value;

use super::agent::Usage;
use super::event::Status;
use super::outcome::StepRecord;
use super::shard::Shard;
use super::unit::{UnitKey, UnitResult};

/// One step's state.
pub(super) enum StepState {
    Pending,
    Running(Running),
    Done(StepRecord),
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

    /// Takes the next slot of step `step` when fewer than `limit` run: its key and element.
    pub fn take_slot(&mut self, step: usize, limit: usize) -> Option<(UnitKey, Option<Value>)> {
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

    /// The record of step `id` from its units' results: interrupted if one was, skipped
    /// if all were, succeeded if all did, else failed; a fan-out's output is the list of
    /// its elements' outputs, in order.
    pub fn record(&self, id: &str) -> StepRecord {
        let results: Vec<&UnitResult> = self.results.iter().flatten().collect();
        let status = if results.iter().any(|r| r.status == Status::Interrupted) {
            Status::Interrupted
        } else if results.iter().all(|r| r.status == Status::Skipped) {
            Status::Skipped
        } else if results.iter().all(|r| r.status == Status::Succeeded) {
            Status::Succeeded
        } else {
            Status::Failed
        };
        let fan_out = self.fan_out();
        let output = if fan_out {
            Value::Array(results.iter().map(|r| r.output.clone()).collect())
        } else {
            results.first().map_or(Value::Null, |r| r.output.clone())
        };
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
        StepRecord {
            id: id.to_string(),
            status,
            output,
            error,
            thread_id: (thread_ids.len() == 1).then(|| thread_ids[0].clone()),
            usage: self.usage(),
            attempts: results.iter().map(|r| r.attempts).max().unwrap_or(0),
            duration_ms: self.started.elapsed().as_millis() as u64,
            reused: false,
        }
    }
}
