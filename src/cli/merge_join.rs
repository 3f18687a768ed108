//! Joining shard records: every shard of the fan-out, once, of the same workflow, inputs
//! and upstream outputs; their elements become one fan-out step again. A shard that did
//! not finish its elements is named; its missing elements count as not run.

use std::path::PathBuf;

use serde_json::Value;

use super::shard::{brief, kept};
use crate::engine::agent::Usage;
use crate::engine::event::Status;
use crate::engine::shard::Shard;
use crate::engine::spec::{Kind, RunSpec};
use crate::engine::{SeedElement, StepRecord};
use crate::error::Error;
use crate::report::{RecordStatus, RunState, StepEntry};

/// One shard run: where its record is, and what it holds.
pub(super) struct ShardRun {
    pub dir: PathBuf,
    pub state: RunState,
    /// Its shard number (1 to `count`).
    pub index: usize,
}

impl ShardRun {
    /// `shard 2/3 (run 2026…)`.
    pub fn name(&self, count: usize) -> String {
        format!("shard {}/{count} (run {})", self.index, self.state.run_id)
    }

    fn fan_out(&self, step: &str) -> Option<&StepEntry> {
        self.state.step(step)
    }

    /// Whether it ran its elements to the end, all succeeded.
    pub fn succeeded(&self, step: &str) -> bool {
        self.fan_out(step)
            .is_some_and(|e| e.status == RecordStatus::Succeeded)
    }
}

/// Checks that `runs` are the shards `1..=count` of one fan-out, each once, of the same
/// workflow and inputs; sorts them by shard.
pub(super) fn check_complete(runs: &mut [ShardRun], count: usize) -> Result<(), Error> {
    runs.sort_by_key(|r| r.index);
    let first = &runs[0].state;
    for run in runs.iter() {
        let s = &run.state;
        if s.workflow_hash != first.workflow_hash || s.inputs != first.inputs {
            return Err(Error::Usage(format!(
                "{} ran {} than {}: shards must run the same workflow file with the same inputs",
                run.name(count),
                if s.workflow_hash != first.workflow_hash {
                    "another workflow file"
                } else {
                    "with other inputs"
                },
                runs[0].name(count)
            )));
        }
    }
    for pair in runs.windows(2) {
        if pair[0].index == pair[1].index {
            return Err(Error::Usage(format!(
                "shard {}/{count} is given twice: runs {} and {}",
                pair[0].index, pair[0].state.run_id, pair[1].state.run_id
            )));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !runs.iter().any(|r| r.index == *k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "shard{} {} of `{}` {} missing: merge needs every shard's record",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            first.shard.as_ref().map_or("", |s| s.step.as_str()),
            if missing.len() > 1 { "are" } else { "is" },
        )));
    }
    Ok(())
}

/// The upstream steps' records, from the shards that ran them to the end: they must all
/// agree on each step's output (so that each fanned out over the same elements).
pub(super) fn upstream(
    runs: &[ShardRun],
    count: usize,
    spec: &RunSpec,
    upstream: &[bool],
) -> Result<Vec<StepEntry>, Error> {
    let ids: Vec<&str> = (spec.steps.iter().enumerate())
        .filter(|(i, _)| upstream[*i])
        .map(|(_, s)| s.id.as_str())
        .collect();
    let complete = |run: &&ShardRun| {
        ids.iter().all(|id| {
            run.state
                .step(id)
                .is_some_and(|e| e.status == RecordStatus::Succeeded)
        })
    };
    let mut complete = runs.iter().filter(complete);
    let Some(base) = complete.next() else {
        return Err(Error::Failed(format!(
            "no shard ran the steps upstream of the fan-out to the end ({}): finish a shard \
             with `weft resume`, then merge again",
            runs.iter()
                .map(|r| r.name(count))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    for other in complete {
        for id in &ids {
            let (a, b) = (step_output(base, id), step_output(other, id));
            if a != b {
                return Err(Error::Usage(format!(
                    "the shards disagree on the output of step `{id}`: {} has {}, {} has {}; \
                     run the upstream steps once (`weft run --upstream-only`) and start every \
                     shard from that run (`--from`)",
                    base.name(count),
                    brief(a),
                    other.name(count),
                    brief(b)
                )));
            }
        }
    }
    Ok(ids
        .iter()
        .filter_map(|id| base.state.step(id).cloned())
        .collect())
}

fn step_output<'a>(run: &'a ShardRun, id: &str) -> &'a Value {
    run.state.step(id).map_or(&Value::Null, |e| &e.output)
}

/// The fan-out step put back together.
pub(super) struct Joined {
    /// Its entry in the merged record, with every element.
    pub entry: StepEntry,
    /// Its result, as the merged run keeps it.
    pub record: StepRecord,
    /// Its elements, reported one by one.
    pub elements: Vec<SeedElement>,
}

/// Joins the elements of fan-out step `step` (of `length` elements) from `runs`. An
/// element a shard did not finish is a failure of its step, naming the shard.
pub(super) fn join(runs: &[ShardRun], count: usize, step: &str, length: usize) -> Joined {
    let mut slots: Vec<Option<StepEntry>> = vec![None; length];
    for run in runs {
        let shard = Shard {
            step: 0,
            index: run.index,
            count,
        };
        let entries = run.fan_out(step).map(|e| e.elements.as_slice());
        for element in entries.unwrap_or_default() {
            match element.index {
                Some(ix) if ix < length && shard.owns(ix) => slots[ix] = Some(element.clone()),
                _ => {}
            }
        }
        for ix in shard.elements(length) {
            let done = slots[ix].as_ref().is_some_and(|e| {
                matches!(e.status, RecordStatus::Succeeded | RecordStatus::Failed)
            });
            if !done {
                let mut missing = StepEntry::new(step, Some(ix));
                missing.status = RecordStatus::Failed;
                missing.error = Some(format!("{} did not finish it", run.name(count)));
                slots[ix] = Some(missing);
            }
        }
    }
    let elements: Vec<StepEntry> = slots.into_iter().flatten().collect();
    let record = fan_out_record(runs, step, &elements);
    Joined {
        elements: elements
            .iter()
            .map(|e| SeedElement {
                step: step.to_string(),
                index: e.index.unwrap_or(0),
                record: element_record(e),
                item: e.item.clone(),
            })
            .collect(),
        entry: fan_out_entry(runs, &record, elements),
        record,
    }
}

fn element_record(e: &StepEntry) -> StepRecord {
    let mut rec = kept(e, !e.iterations.is_empty());
    rec.status = match e.status {
        RecordStatus::Succeeded => Status::Succeeded,
        _ => Status::Failed,
    };
    rec.error = e.error.clone();
    rec
}

fn fan_out_record(runs: &[ShardRun], step: &str, elements: &[StepEntry]) -> StepRecord {
    let mut usage = Usage::default();
    for e in elements {
        usage.add(&e.usage);
    }
    let failed = elements
        .iter()
        .find(|e| e.status != RecordStatus::Succeeded);
    let mut rec = StepRecord::early(
        step,
        if failed.is_some() {
            Status::Failed
        } else {
            Status::Succeeded
        },
        String::new(),
    );
    rec.output = Value::Array(elements.iter().map(|e| e.output.clone()).collect());
    rec.error = failed.map(|e| {
        format!(
            "element {}: {}",
            e.index.unwrap_or(0),
            e.error.as_deref().unwrap_or("failed")
        )
    });
    rec.usage = usage;
    rec.attempts = elements.iter().map(|e| e.attempts).max().unwrap_or(0);
    rec.duration_ms = runs
        .iter()
        .filter_map(|r| r.fan_out(step)?.duration_ms)
        .max()
        .unwrap_or(0);
    rec.reused = true;
    rec.kind = elements.first().map_or(Kind::Turn, |e| e.kind);
    let each = |get: &dyn Fn(&StepEntry) -> Option<Value>| {
        Some(Value::Array(
            elements
                .iter()
                .map(|e| get(e).unwrap_or(Value::Null))
                .collect(),
        ))
    };
    if rec.kind == Kind::Script {
        rec.exit_code = each(&|e| e.exit_code.clone());
        rec.stderr = each(&|e| e.stderr.clone());
    }
    if elements.iter().any(|e| !e.iterations.is_empty()) {
        rec.iterations = each(&|e| Some(e.iteration_outputs()));
    }
    rec
}

fn fan_out_entry(runs: &[ShardRun], record: &StepRecord, elements: Vec<StepEntry>) -> StepEntry {
    let step = record.id.as_str();
    let mut entry = StepEntry::new(step, None);
    entry.status = RecordStatus::from(record.status);
    entry.output = record.output.clone();
    entry.error = record.error.clone();
    entry.usage = record.usage;
    entry.attempts = record.attempts;
    entry.duration_ms = Some(record.duration_ms);
    entry.started_at_ms = runs
        .iter()
        .filter_map(|r| r.fan_out(step)?.started_at_ms)
        .min();
    entry.elements = elements;
    entry
}
