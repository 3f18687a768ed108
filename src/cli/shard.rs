//! `weft run --shard K/N` and `--upstream-only`: which fan-out step is sharded, the part of
//! the workflow a shard runs (the steps upstream of the fan-out, then its own elements),
//! and the upstream steps a shard takes from an earlier run (`--from`) instead of running
//! them. `weft resume` of a shard runs the same part again.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::shard_args::ShardArgs;
use crate::engine::event::Status;
use crate::engine::shard::{Shard, upstream_of};
use crate::engine::spec::{RunSpec, ThreadMode};
use crate::engine::{Seed, StepRecord, fingerprint};
use crate::error::Error;
use crate::report::{RecordStatus, RunState, RunStore, ShardRecord, StepEntry};
use crate::workflow::diagnostic::suggest;

/// The part of a workflow a shard run runs.
pub(super) struct Sharded {
    pub spec: RunSpec,
    /// The upstream steps taken from `--from`.
    pub seed: Seed,
    /// Their entries, for the shard's own record.
    pub entries: Vec<StepEntry>,
    pub record: ShardRecord,
}

/// Restricts `spec` (the whole workflow) to what `args` ask this run to do.
pub(super) fn prepare(args: &ShardArgs, spec: RunSpec, runs_dir: &Path) -> Result<Sharded, Error> {
    let step = fan_out_step(&spec, args.shard_step.as_deref())?;
    let mut record = ShardRecord {
        step: spec.steps[step].id.clone(),
        index: args.shard.map(|(k, _)| k),
        count: args.shard.map(|(_, n)| n),
        from: None,
    };
    let (mut seed, mut entries) = (Seed::default(), Vec::new());
    if let Some(query) = &args.from {
        let earlier = RunState::load(&find_record(runs_dir, query)?)?;
        (seed, entries) = upstream_from(&earlier, &spec, step)?;
        record.from = Some(earlier.run_id);
    }
    let spec = restrict(spec, &record)?;
    Ok(Sharded {
        spec,
        seed,
        entries,
        record,
    })
}

/// `spec` (the whole workflow) restricted to the part `record` says: the steps upstream
/// of its fan-out step, and for a shard that step with the shard's elements.
pub(super) fn restrict(mut spec: RunSpec, record: &ShardRecord) -> Result<RunSpec, Error> {
    let step = fan_out_step(&spec, Some(&record.step))?;
    let mut keep = upstream_of(&spec, step);
    if let (Some(index), Some(count)) = (record.index, record.count) {
        keep[step] = true;
        spec.shard = Some(Shard { step, index, count });
    }
    Ok(spec.restricted(&keep))
}

/// The fan-out step to shard: `name`, or the workflow's only `for_each` step. It must run
/// on fresh threads: a shard may run on a machine where no other thread exists.
pub(super) fn fan_out_step(spec: &RunSpec, name: Option<&str>) -> Result<usize, Error> {
    let fan_outs: Vec<&str> = spec
        .steps
        .iter()
        .filter(|s| s.for_each.is_some())
        .map(|s| s.id.as_str())
        .collect();
    let step = match name {
        Some(name) => spec.index_of(name).ok_or_else(|| {
            let ids = spec.steps.iter().map(|s| s.id.as_str());
            Error::Usage(format!("unknown step `{name}`{}", suggest(name, ids)))
        })?,
        None => match fan_outs.as_slice() {
            [one] => spec.index_of(one).unwrap_or_default(),
            [] => {
                return Err(Error::Usage(
                    "the workflow has no `for_each` step to shard".into(),
                ));
            }
            several => {
                return Err(Error::Usage(format!(
                    "the workflow has several `for_each` steps ({}): name the one to shard with `--shard-step`",
                    quoted(several)
                )));
            }
        },
    };
    if spec.scopes.len() > 1 {
        return Err(Error::Usage(
            "the workflow `uses` other workflows: sharding one is not supported yet (run it whole)"
                .into(),
        ));
    }
    let s = &spec.steps[step];
    if s.for_each.is_none() {
        return Err(Error::Usage(format!(
            "step `{}` has no `for_each`: only a fan-out can be sharded{}",
            s.id,
            match fan_outs.as_slice() {
                [] => String::new(),
                some => format!(" (fan-outs: {})", quoted(some)),
            }
        )));
    }
    if s.on_conflict.is_some() {
        return Err(Error::Usage(format!(
            "step `{}` has an `on_conflict` repair step: sharding it is not supported yet, \
             since each shard would repair its own conflicts",
            s.id
        )));
    }
    if s.thread != ThreadMode::Fresh {
        return Err(Error::Usage(format!(
            "step `{}` does not run on fresh threads: a sharded fan-out needs them, since a \
             shard may run on a machine that has no other thread",
            s.id
        )));
    }
    Ok(step)
}

fn quoted(ids: &[&str]) -> String {
    let list: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    list.join(", ")
}

/// A run record's directory: `query` itself when it is one, else the run `query` names in
/// `runs_dir` (an id, a unique prefix, `last`).
pub(super) fn find_record(runs_dir: &Path, query: &str) -> Result<PathBuf, Error> {
    let dir = Path::new(query);
    if dir.join(crate::report::STATE_FILE).is_file() {
        return Ok(dir.to_path_buf());
    }
    Ok(RunStore::new(runs_dir).find(query)?)
}

/// The steps upstream of fan-out step `step` as run `earlier` left them: they must have
/// the same definitions and inputs as in `spec`, and have succeeded.
fn upstream_from(
    earlier: &RunState,
    spec: &RunSpec,
    step: usize,
) -> Result<(Seed, Vec<StepEntry>), Error> {
    let id = &earlier.run_id;
    if earlier.inputs != spec.inputs {
        return Err(Error::Usage(format!(
            "run {id} ran with other inputs than these: a shard must fan out over the same \
             elements as the others (inputs there: {})",
            earlier.inputs
        )));
    }
    let upstream = upstream_of(spec, step);
    let mut seed = Seed::default();
    let mut entries = Vec::new();
    for (i, s) in spec.steps.iter().enumerate().filter(|(i, _)| upstream[*i]) {
        if earlier.step_hashes.get(&s.id) != Some(&fingerprint(spec, i)) {
            return Err(Error::Usage(format!(
                "step `{}` changed since run {id}, or that run has no such step: run the \
                 upstream steps again (`weft run --upstream-only`)",
                s.id
            )));
        }
        let entry = earlier
            .step(&s.id)
            .filter(|e| e.status == RecordStatus::Succeeded)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "step `{}` did not succeed in run {id}: finish that run first \
                     (`weft resume {id}`)",
                    s.id
                ))
            })?;
        seed.done.push(kept(entry, s.looping.is_some()));
        entries.push(entry.clone());
    }
    Ok((seed, entries))
}

/// A succeeded step of a record, as a step a run keeps (with its loop's iterations'
/// outputs when it `loops`).
pub(super) fn kept(entry: &StepEntry, loops: bool) -> StepRecord {
    let mut rec = StepRecord::early(&entry.id, Status::Succeeded, String::new());
    rec.error = None;
    rec.output = entry.output.clone();
    rec.thread_id = entry.thread_id.clone();
    rec.usage = entry.usage;
    rec.attempts = entry.attempts;
    rec.duration_ms = entry.duration_ms.unwrap_or(0);
    rec.reused = true;
    rec.kind = entry.kind;
    rec.exit_code = entry.exit_code.clone();
    rec.stderr = entry.stderr.clone();
    rec.patch = entry.patch.clone();
    if loops {
        rec.iterations = Some(entry.iteration_outputs());
    }
    rec
}

/// `value` as JSON text, for messages.
pub(super) fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::StepSpec;

    fn fan_out(on_conflict: Option<usize>) -> RunSpec {
        let mut each = StepSpec::new("each", "E");
        each.for_each = Some("[1, 2]".into());
        each.on_conflict = on_conflict;
        let mut fix = StepSpec::new("fix", "F");
        fix.repairs = Some(0);
        RunSpec::new("w", "r", vec![each, fix])
    }

    #[test]
    fn a_fan_out_with_a_repair_step_is_not_sharded() {
        assert_eq!(fan_out_step(&fan_out(None), Some("each")).unwrap(), 0);
        let err = fan_out_step(&fan_out(Some(1)), Some("each")).unwrap_err();
        assert!(
            err.to_string().contains("has an `on_conflict` repair step"),
            "{err}"
        );
    }
}
