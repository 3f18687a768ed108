//! Continuing a run: which steps an earlier session leaves done, the named threads it
//! leaves to continue, and the fingerprints that tell whether a step changed since.

use std::collections::BTreeSet;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::looping::IterationRecord;
use super::outcome::StepRecord;
use super::spec::{RunSpec, StepSpec, ThreadMode, UnitKind, UntilSpec};
use crate::vocab::Shell;

/// What an earlier session of a run leaves to the next one.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// Steps that are done and keep their results (their outputs feed later templates).
    pub done: Vec<StepRecord>,
    /// Named threads and their ids: the next step on each continues it with `thread/resume`.
    pub threads: Vec<(String, String)>,
    /// The finished iterations of loops that did not end, by step id and fan-out element:
    /// each continues after its last one.
    pub iterations: Vec<(String, Option<usize>, Vec<IterationRecord>)>,
    /// Finished fan-out elements. Those of steps in `done` are reported one by one before
    /// their step (`weft merge` joins them from the shards); those of a step that runs
    /// again are kept when it fans out over the same item at their index, and only its
    /// other elements run.
    pub elements: Vec<SeedElement>,
}

/// One finished fan-out element an earlier run leaves.
#[derive(Debug, Clone)]
pub struct SeedElement {
    /// Its step's id.
    pub step: String,
    /// Its index in the fan-out (0-based).
    pub index: usize,
    /// Its result.
    pub record: StepRecord,
    /// The `for_each` item it ran for (`None`: not recorded, as by records written before
    /// weft kept it: such an element is kept only whole, with its step).
    pub item: Option<serde_json::Value>,
}

/// A short hash of everything that decides what step `i` does: its prompt, schema,
/// policies (the thread's options are merged into them), thread and the ids of its
/// upstream steps.
pub fn fingerprint(spec: &RunSpec, i: usize) -> String {
    let step = &spec.steps[i];
    let upstream: Vec<&str> = step
        .upstream
        .iter()
        .map(|&u| spec.steps[u].id.as_str())
        .collect();
    let thread = match &step.thread {
        ThreadMode::Fresh => json!("fresh"),
        ThreadMode::Named(n) => json!({ "named": n }),
        ThreadMode::Fork(n) => json!({ "fork": n }),
        ThreadMode::Resume(id) => json!({ "resume": id }),
    };
    let doc = json!({
        "prompt": step.prompt,
        "upstream": upstream,
        "thread": thread,
        "output_schema": step.output_schema,
        "model": step.model,
        "effort": step.effort,
        "approval": step.approval,
        "sandbox": step.sandbox,
        "developer_instructions": step.developer_instructions,
        "approve": [step.approve_commands, step.approve_files],
        "cwd": step.cwd,
        "timeout_ms": step.timeout.map(|t| t.as_millis() as u64),
        "retries": step.retries,
        "if": step.if_expr,
        "for_each": step.for_each,
        "as": step.as_name,
        "max_parallel": step.max_parallel,
        "continue_on_error": step.continue_on_error,
        "max_tokens": step.max_tokens,
        "part_of": step.parent.map(|p| spec.steps[p].id.as_str()),
        "uses": step.call.as_ref().map(|c| json!({
            "uses": c.uses, "with": c.with, "outputs": c.outputs,
            "inputs": c.inputs.iter().map(|i| json!([i.name.value, i.ty, i.default])).collect::<Vec<_>>(),
        })),
        "join": step.join,
        "model_template": step.model_template,
        "effort_template": step.effort_template,
        "config": step.config,
        "network": step.network,
        "templates": step.templates,
    });
    let mut doc = doc;
    if let Some(kind) = kind_fingerprint(step) {
        doc["kind"] = kind;
    }
    if let (Some(environment), Some(map)) = (step.environment, doc.as_object_mut()) {
        map.insert("environment".into(), json!(environment));
    }
    let doc = with_tree(doc, spec, i);
    let digest = Sha256::digest(doc.to_string().as_bytes());
    hex(&digest[..8])
}

/// What a script, a gate, `env`, `shell` or a `loop` adds to a step's fingerprint (none for
/// a plain turn, whose fingerprint stays what it was before these existed).
fn kind_fingerprint(step: &StepSpec) -> Option<serde_json::Value> {
    let kind = match &step.kind {
        UnitKind::Turn => json!("turn"),
        UnitKind::Script(s) => json!({ "run": s.run, "output": s.output }),
        UnitKind::Gate(g) => json!({ "gate": g.question }),
    };
    let looping = step.looping.as_ref().map(|l| {
        let until = match &l.until {
            UntilSpec::Expression(e) => json!({ "until": e }),
            UntilSpec::Run(r) => json!({ "until_run": r }),
        };
        json!({ "max": l.max_iterations, "until": until, "thread": l.thread, "on_max": l.on_max })
    });
    let plain = matches!(step.kind, UnitKind::Turn)
        && looping.is_none()
        && step.env.is_empty()
        && step.shell == Shell::Bash;
    (!plain).then(|| json!({ "kind": kind, "loop": looping, "env": step.env, "shell": step.shell }))
}

/// `doc` with the step's working-tree options, when it has any (so that the fingerprints
/// of steps without them are what they were before these options existed).
fn with_tree(mut doc: serde_json::Value, spec: &RunSpec, i: usize) -> serde_json::Value {
    let step = &spec.steps[i];
    if let serde_json::Value::Object(map) = &mut doc {
        if step.isolation != crate::vocab::Isolation::None {
            map.insert("isolation".into(), json!(step.isolation));
        }
        if let Some(writes) = &step.writes {
            map.insert("writes".into(), json!(writes));
        }
        if let Some(r) = step.on_conflict {
            map.insert("on_conflict".into(), json!(spec.steps[r].id));
        }
    }
    doc
}

/// The SHA-256 of `bytes` in hex (the workflow file's hash in a run record).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The steps of `spec` that keep their earlier results: those in `succeeded` that are
/// neither in `changed` nor downstream of a step in it. A called workflow's steps run
/// again when the step calling it changed (its inputs may differ), and a step that calls
/// a workflow runs again when one of that workflow's steps does (its output may differ).
pub fn kept_steps(
    spec: &RunSpec,
    succeeded: &BTreeSet<String>,
    changed: &BTreeSet<String>,
) -> BTreeSet<String> {
    let n = spec.steps.len();
    let mut inputs_changed = vec![false; n];
    let mut rerun = vec![false; n];
    let mut moved = true;
    while moved {
        moved = false;
        for (i, step) in spec.steps.iter().enumerate() {
            let before = (inputs_changed[i], rerun[i]);
            inputs_changed[i] = changed.contains(&step.id)
                || step.upstream.iter().any(|&u| rerun[u])
                || step.parent.is_some_and(|p| inputs_changed[p]);
            rerun[i] = inputs_changed[i] || spec.parts(i).any(|c| rerun[c]);
            moved |= before != (inputs_changed[i], rerun[i]);
        }
    }
    spec.steps
        .iter()
        .enumerate()
        .filter(|(i, s)| !rerun[*i] && succeeded.contains(&s.id))
        .map(|(_, s)| s.id.clone())
        .collect()
}

/// The fan-out steps of `spec` that run again but may keep the elements an earlier
/// session finished: not changed, not on a named thread (whose elements are one
/// conversation), and every step upstream of them (and of the steps calling their
/// workflow) kept, so that what their templates read is what it was.
pub fn element_steps(
    spec: &RunSpec,
    kept: &BTreeSet<String>,
    changed: &BTreeSet<String>,
) -> BTreeSet<String> {
    let same_inputs = |i: usize| {
        let step = &spec.steps[i];
        !changed.contains(&step.id)
            && step
                .upstream
                .iter()
                .all(|&u| kept.contains(&spec.steps[u].id))
    };
    spec.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.for_each.is_some() && !kept.contains(&s.id))
        .filter(|(_, s)| !matches!(s.thread, ThreadMode::Named(_)))
        .filter(|(i, _)| {
            let mut at = Some(*i);
            while let Some(s) = at {
                if !same_inputs(s) {
                    return false;
                }
                at = spec.steps[s].parent;
            }
            true
        })
        .map(|(_, s)| s.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::StepSpec;

    fn spec(steps: Vec<StepSpec>) -> RunSpec {
        RunSpec {
            jobs: 1,
            retry_delay: std::time::Duration::ZERO,
            ..RunSpec::new("w", "r", steps)
        }
    }

    fn chain() -> RunSpec {
        let a = StepSpec::new("a", "A");
        let mut b = StepSpec::new("b", "B");
        b.upstream = vec![0];
        let mut c = StepSpec::new("c", "C");
        c.upstream = vec![1];
        let d = StepSpec::new("d", "D");
        spec(vec![a, b, c, d])
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn elements_are_kept_only_where_nothing_they_read_runs_again() {
        let mut s = chain();
        for step in &mut s.steps {
            step.for_each = Some("inputs.list".into());
        }
        s.steps[3].thread = ThreadMode::Named("main".into());
        let kept = set(&["a"]);
        assert_eq!(element_steps(&s, &kept, &set(&[])), set(&["b"]));
        assert_eq!(element_steps(&s, &set(&["a", "b"]), &set(&[])), set(&["c"]));
        assert_eq!(element_steps(&s, &kept, &set(&["b"])), set(&[]), "changed");
        assert_eq!(
            element_steps(&s, &set(&[]), &set(&[])),
            set(&["a"]),
            "an upstream step that runs again may change what `b` reads"
        );
    }

    #[test]
    fn a_changed_step_and_everything_downstream_run_again() {
        let s = chain();
        let kept = kept_steps(&s, &set(&["a", "b", "c", "d"]), &set(&["b"]));
        assert_eq!(kept, set(&["a", "d"]));
        let kept = kept_steps(&s, &set(&["a", "d"]), &set(&[]));
        assert_eq!(kept, set(&["a", "d"]), "only what succeeded is kept");
    }

    #[test]
    fn fingerprints_change_with_what_the_step_does_only() {
        let s = chain();
        let before = fingerprint(&s, 1);
        assert_eq!(before, fingerprint(&chain(), 1), "stable");
        let mut prompt = chain();
        prompt.steps[1].prompt = "B, but different".into();
        assert_ne!(fingerprint(&prompt, 1), before);
        let mut upstream = chain();
        upstream.steps[0].id = "z".into();
        assert_ne!(
            fingerprint(&upstream, 1),
            before,
            "an upstream rename counts"
        );
        let mut other = chain();
        other.steps[3].prompt = "D2".into();
        assert_eq!(
            fingerprint(&other, 1),
            before,
            "another step's edit does not"
        );
        assert_eq!(before.len(), 16);
        let mut environment = chain();
        environment.steps[1].environment = Some(crate::vocab::Environment::Plain);
        assert_ne!(fingerprint(&environment, 1), before);
    }

    #[test]
    fn a_step_without_environment_keeps_the_fingerprint_older_records_have() {
        // The fingerprint of a plain turn as records kept it before `environment` existed:
        // a step without one must not look changed to `weft resume`.
        let s = chain();
        assert_eq!(fingerprint(&s, 0), "157be20679b86a2c");
    }
}
