//! [`RunDiff`]: what changed between two recorded runs, step by step and fan-out element
//! by element: the rendered prompt, the output, the patch and the status (the tokens are
//! shown beside them; two runs of one prompt rarely use the same count, so they are not a
//! difference by themselves). `weft diff` renders it.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::state::{RunState, StepEntry};

/// The comparison of run `a` with run `b`.
#[derive(Debug, Clone, Serialize)]
pub struct RunDiff {
    pub a: String,
    pub b: String,
    /// Every step and element of either run, in the order of `a` (then `b`'s own).
    pub units: Vec<UnitDiff>,
}

/// One step (or fan-out element) of two runs.
#[derive(Debug, Clone, Serialize)]
pub struct UnitDiff {
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// `same`, `changed`, `only_in_a` or `only_in_b`.
    pub state: &'static str,
    /// What differs: `status`, `prompt`, `output`, `patch`.
    pub changed: Vec<&'static str>,
    pub a: Option<Side>,
    pub b: Option<Side>,
}

/// What one run has for a unit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Side {
    pub status: String,
    pub prompt: Option<String>,
    pub output: Value,
    /// The patch's text (from the record's `patches/`), when it changed files.
    pub patch: Option<String>,
    pub tokens: u64,
}

impl RunDiff {
    /// Compares `a` (recorded in `a_dir`) with `b` (in `b_dir`).
    pub fn compare(a: (&RunState, &Path), b: (&RunState, &Path)) -> RunDiff {
        let mut ids: Vec<&str> = a.0.steps.iter().map(|s| s.id.as_str()).collect();
        for s in &b.0.steps {
            if !ids.contains(&s.id.as_str()) {
                ids.push(&s.id);
            }
        }
        let mut units = Vec::new();
        for id in ids {
            let (sa, sb) = (a.0.step(id), b.0.step(id));
            let fan_out = [sa, sb].iter().flatten().any(|s| !s.elements.is_empty());
            units.push(unit(
                id,
                None,
                side(sa, a.1, !fan_out),
                side(sb, b.1, !fan_out),
            ));
            if fan_out {
                units.extend(elements(id, (sa, a.1), (sb, b.1)));
            }
        }
        RunDiff {
            a: a.0.run_id.clone(),
            b: b.0.run_id.clone(),
            units,
        }
    }

    /// Whether the runs differ anywhere.
    pub fn differs(&self) -> bool {
        self.units.iter().any(|u| u.state != "same")
    }
}

/// The elements of fan-out step `id` in either run, by index.
fn elements(
    id: &str,
    (a, a_dir): (Option<&StepEntry>, &Path),
    (b, b_dir): (Option<&StepEntry>, &Path),
) -> Vec<UnitDiff> {
    let of = |s: Option<&StepEntry>| s.map(|s| s.elements.clone()).unwrap_or_default();
    let (ea, eb) = (of(a), of(b));
    let mut indexes: Vec<usize> = ea.iter().chain(&eb).filter_map(|e| e.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    indexes
        .into_iter()
        .map(|ix| {
            let find = |list: &[StepEntry]| list.iter().find(|e| e.index == Some(ix)).cloned();
            let (xa, xb) = (find(&ea), find(&eb));
            unit(
                id,
                Some(ix),
                side(xa.as_ref(), a_dir, true),
                side(xb.as_ref(), b_dir, true),
            )
        })
        .collect()
}

/// What a run has for `entry`; a fan-out step's own prompt and output are its
/// elements' (compared there), so `whole` is false for it.
fn side(entry: Option<&StepEntry>, dir: &Path, whole: bool) -> Option<Side> {
    let e = entry?;
    let patch = e
        .patch
        .as_ref()
        .map(|p| std::fs::read_to_string(dir.join(&p.file)).unwrap_or_else(|_| p.summary()));
    Some(Side {
        status: e.status.as_str().to_string(),
        prompt: e.prompt.clone().filter(|_| whole),
        output: if whole { e.output.clone() } else { Value::Null },
        patch,
        tokens: e.usage.total_tokens,
    })
}

fn unit(step: &str, index: Option<usize>, a: Option<Side>, b: Option<Side>) -> UnitDiff {
    let (state, changed) = match (&a, &b) {
        (Some(x), Some(y)) => {
            let mut changed = Vec::new();
            for (name, differs) in [
                ("status", x.status != y.status),
                ("prompt", x.prompt != y.prompt),
                ("output", x.output != y.output),
                ("patch", x.patch != y.patch),
            ] {
                if differs {
                    changed.push(name);
                }
            }
            (
                if changed.is_empty() {
                    "same"
                } else {
                    "changed"
                },
                changed,
            )
        }
        (Some(_), None) => ("only_in_a", Vec::new()),
        _ => ("only_in_b", Vec::new()),
    };
    UnitDiff {
        step: step.to_string(),
        index,
        state,
        changed,
        a,
        b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RecordStatus;
    use serde_json::json;

    fn run(id: &str, steps: Vec<StepEntry>) -> RunState {
        let text = json!({
            "version": 2, "run_id": id, "workflow": "w", "workflow_path": "w.yaml",
            "workflow_hash": "", "step_hashes": {}, "inputs": {}, "options": {"jobs": 1,
            "fail_fast": false, "timeout_ms": null, "model": null, "effort": null, "workdir": "."},
            "status": "succeeded", "started_at_ms": 0, "duration_ms": 1,
            "usage": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
                      "reasoning_output_tokens": 0, "total_tokens": 0},
            "sessions": 1, "steps": []
        });
        let mut state: RunState = serde_json::from_value(text).expect("a state");
        state.steps = steps;
        state
    }

    fn entry(id: &str, index: Option<usize>, prompt: &str, output: Value) -> StepEntry {
        let mut e = StepEntry::new(id, index);
        e.status = RecordStatus::Succeeded;
        e.prompt = Some(prompt.into());
        e.output = output;
        e
    }

    fn fan_out(outputs: &[&str]) -> StepEntry {
        let mut step = StepEntry::new("each", None);
        step.status = RecordStatus::Succeeded;
        step.elements = outputs
            .iter()
            .enumerate()
            .map(|(i, o)| entry("each", Some(i), &format!("EACH {i}"), json!(o)))
            .collect();
        step
    }

    #[test]
    fn each_step_and_element_is_compared_on_what_it_did() {
        let dir = Path::new("/nonexistent");
        let mut tokens = entry("a", None, "A", json!({"n": 1}));
        tokens.usage.total_tokens = 99;
        let a = run(
            "r1",
            vec![
                tokens,
                fan_out(&["x", "y"]),
                entry("gone", None, "G", json!(1)),
            ],
        );
        let b = run(
            "r2",
            vec![
                entry("a", None, "A", json!({"n": 1})),
                fan_out(&["x", "z", "w"]),
                entry("new", None, "N", json!(1)),
            ],
        );
        let diff = RunDiff::compare((&a, dir), (&b, dir));
        let seen: Vec<(String, Option<usize>, &str, Vec<&str>)> = diff
            .units
            .iter()
            .map(|u| (u.step.clone(), u.index, u.state, u.changed.clone()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("a".into(), None, "same", vec![]),
                ("each".into(), None, "same", vec![]),
                ("each".into(), Some(0), "same", vec![]),
                ("each".into(), Some(1), "changed", vec!["output"]),
                ("each".into(), Some(2), "only_in_b", vec![]),
                ("gone".into(), None, "only_in_a", vec![]),
                ("new".into(), None, "only_in_b", vec![]),
            ]
        );
        assert!(diff.differs());
        assert_eq!(
            diff.units[0].a.as_ref().unwrap().tokens,
            99,
            "shown, not compared"
        );
        let same = RunDiff::compare((&a, dir), (&a, dir));
        assert!(!same.differs());
    }

    #[test]
    fn patches_are_compared_by_their_text_in_each_record() {
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let with_patch = |dir: &Path, text: &str| {
            std::fs::create_dir_all(dir.join("patches")).unwrap();
            std::fs::write(dir.join("patches/edit.patch"), text).unwrap();
            let mut e = entry("edit", None, "EDIT", json!("done"));
            e.patch = Some(crate::engine::tree::Patch {
                file: "patches/edit.patch".into(),
                base: "b".into(),
                tree: "t".into(),
                files: Vec::new(),
                insertions: 1,
                deletions: 0,
            });
            run("r", vec![e])
        };
        let a = with_patch(a_dir.path(), "+one\n");
        let same = with_patch(b_dir.path(), "+one\n");
        let diff = RunDiff::compare((&a, a_dir.path()), (&same, b_dir.path()));
        assert!(!diff.differs(), "the same text in two records");
        let other = with_patch(b_dir.path(), "+two\n");
        let diff = RunDiff::compare((&a, a_dir.path()), (&other, b_dir.path()));
        assert_eq!(diff.units[0].changed, vec!["patch"]);
        assert_eq!(
            diff.units[0].b.as_ref().unwrap().patch.as_deref(),
            Some("+two\n")
        );
    }

    #[test]
    fn a_changed_prompt_and_status_are_named() {
        let dir = Path::new("/nonexistent");
        let a = run("r1", vec![entry("a", None, "old prompt", json!("x"))]);
        let mut failed = entry("a", None, "new prompt", json!("x"));
        failed.status = RecordStatus::Failed;
        let b = run("r2", vec![failed]);
        let diff = RunDiff::compare((&a, dir), (&b, dir));
        assert_eq!(diff.units[0].changed, vec!["status", "prompt"]);
    }
}
