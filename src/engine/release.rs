//! Which threads a run lets go of, and when. A thread is released (the app-server unloads
//! it) as soon as nothing in the run can use it again, so that the app-server's memory
//! follows `--jobs` rather than the length of a fan-out:
//!
//! - a fresh or forked thread of a unit (a step, or one fan-out element): when the unit
//!   ends;
//! - a named thread: when every step on it, and every step forking it, is done;
//! - never a thread that a `resume:` step may continue: the threads of the steps upstream
//!   of a `resume:` step (its template can read their `thread_id`), and the threads
//!   `resume:` steps run on (they belong to someone else).

use std::collections::BTreeMap;

use super::spec::{RunSpec, ThreadMode};

/// The release rules of one run.
#[derive(Debug, Clone, Default)]
pub(super) struct Releases {
    /// Per step: whether each of its units releases its own thread when it ends.
    units: Vec<bool>,
    /// Per named thread that may be released: the steps on it or forking it.
    named: BTreeMap<String, Vec<usize>>,
}

impl Releases {
    /// The rules for `spec`.
    pub fn new(spec: &RunSpec) -> Self {
        let mut kept = vec![false; spec.steps.len()];
        for step in &spec.steps {
            if matches!(step.thread, ThreadMode::Resume(_)) {
                for &u in &step.upstream {
                    kept[u] = true;
                }
            }
        }
        let units = spec
            .steps
            .iter()
            .zip(&kept)
            .map(|(s, kept)| matches!(s.thread, ThreadMode::Fresh | ThreadMode::Fork(_)) && !kept)
            .collect();
        let mut named: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut pinned = Vec::new();
        for (i, step) in spec.steps.iter().enumerate() {
            match &step.thread {
                ThreadMode::Named(name) => {
                    named.entry(name.clone()).or_default().push(i);
                    if kept[i] {
                        pinned.push(name.clone());
                    }
                }
                ThreadMode::Fork(name) => named.entry(name.clone()).or_default().push(i),
                ThreadMode::Fresh | ThreadMode::Resume(_) => {}
            }
        }
        for name in pinned {
            named.remove(&name);
        }
        Self { units, named }
    }

    /// Whether the units of step `step` release their own threads when they end.
    pub fn unit(&self, step: usize) -> bool {
        self.units.get(step).copied().unwrap_or(false)
    }

    /// The named threads that step `step` uses and that nothing uses any more, now that
    /// `step` is done (`done` tells which steps are).
    pub fn named_after(&self, step: usize, done: impl Fn(usize) -> bool) -> Vec<&str> {
        self.named
            .iter()
            .filter(|(_, users)| users.contains(&step) && users.iter().all(|&u| done(u)))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::StepSpec;

    fn spec(steps: Vec<StepSpec>) -> RunSpec {
        RunSpec::new("w", "r", steps)
    }

    fn step(id: &str, thread: ThreadMode, upstream: &[usize]) -> StepSpec {
        let mut s = StepSpec::new(id, id);
        s.thread = thread;
        s.upstream = upstream.to_vec();
        s
    }

    #[test]
    fn what_a_later_step_forks_or_resumes_stays() {
        let named = |n: &str| ThreadMode::Named(n.into());
        let s = spec(vec![
            step("a", named("main"), &[]),
            step("b", ThreadMode::Fresh, &[0]),
            step("c", ThreadMode::Fork("main".into()), &[1]),
            step("d", named("main"), &[2]),
            step("e", ThreadMode::Fresh, &[]),
            step(
                "f",
                ThreadMode::Resume("{{ steps.e.thread_id }}".into()),
                &[4],
            ),
            step("g", named("notes"), &[]),
            step(
                "h",
                ThreadMode::Resume("{{ steps.g.thread_id }}".into()),
                &[6],
            ),
        ]);
        let r = Releases::new(&s);
        let units: Vec<bool> = (0..8).map(|i| r.unit(i)).collect();
        assert_eq!(
            units,
            [false, true, true, false, false, false, false, false]
        );
        let all_but = |skip: usize| move |u: usize| u != skip;
        assert_eq!(r.named_after(0, all_but(3)), Vec::<&str>::new());
        assert_eq!(r.named_after(2, all_but(3)), Vec::<&str>::new());
        assert_eq!(r.named_after(3, |_| true), vec!["main"]);
        assert_eq!(
            r.named_after(2, |_| true),
            vec!["main"],
            "a fork uses it too"
        );
        assert_eq!(
            r.named_after(6, |_| true),
            Vec::<&str>::new(),
            "`h` resumes it"
        );
    }
}
