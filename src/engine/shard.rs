//! Sharding a run across machines: a shard runs the steps upstream of one fan-out step and
//! only its own elements of that fan-out; the steps after it run once, when the shards are
//! merged. Elements go to shards by index, round robin: element `i` (0-based) is shard
//! `i % count + 1`'s, whatever machine runs it.

use serde::{Deserialize, Serialize};

use super::spec::RunSpec;

/// One shard of a fan-out step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// The fan-out step's index in the run spec.
    pub step: usize,
    /// Which shard, from 1 to `count`.
    pub index: usize,
    /// How many shards there are.
    pub count: usize,
}

impl Shard {
    /// Whether element `element` (0-based) is this shard's.
    pub fn owns(&self, element: usize) -> bool {
        self.count > 0 && element % self.count + 1 == self.index
    }

    /// The elements of a fan-out of `total` that are this shard's, in order.
    pub fn elements(&self, total: usize) -> Vec<usize> {
        (0..total).filter(|&i| self.owns(i)).collect()
    }
}

/// Which steps of `spec` are upstream of step `step` (its dependencies, theirs, and so on).
pub fn upstream_of(spec: &RunSpec, step: usize) -> Vec<bool> {
    let mut upstream = vec![false; spec.steps.len()];
    let mut stack = spec.steps[step].upstream.clone();
    while let Some(i) = stack.pop() {
        if !upstream[i] {
            upstream[i] = true;
            stack.extend(&spec.steps[i].upstream);
        }
    }
    upstream
}

impl RunSpec {
    /// This spec with only the steps `keep` says, in the same order (dependencies
    /// renumbered; none may point to a step left out) and no workflow outputs: those are
    /// the merged run's. A shard of a step left out is dropped.
    pub fn restricted(mut self, keep: &[bool]) -> RunSpec {
        let mut new_index = vec![usize::MAX; self.steps.len()];
        let mut next = 0;
        for (i, kept) in keep.iter().enumerate() {
            if *kept {
                new_index[i] = next;
                next += 1;
            }
        }
        let steps = std::mem::take(&mut self.steps);
        self.steps = steps
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep[*i])
            .map(|(_, mut step)| {
                step.upstream = step
                    .upstream
                    .iter()
                    .map(|&u| new_index[u])
                    .filter(|&u| u != usize::MAX)
                    .collect();
                let renumber =
                    |i: Option<usize>| i.map(|i| new_index[i]).filter(|&i| i != usize::MAX);
                step.on_conflict = renumber(step.on_conflict);
                step.repairs = renumber(step.repairs);
                step.parent = renumber(step.parent);
                step
            })
            .collect();
        self.shard = self.shard.and_then(|s| {
            let step = new_index[s.step];
            (step != usize::MAX).then_some(Shard { step, ..s })
        });
        self.outputs.clear();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::StepSpec;

    #[test]
    fn elements_go_round_robin_and_every_one_to_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=3)
            .map(|index| Shard {
                step: 0,
                index,
                count: 3,
            })
            .collect();
        assert_eq!(shards[0].elements(7), vec![0, 3, 6]);
        assert_eq!(shards[1].elements(7), vec![1, 4]);
        assert_eq!(shards[2].elements(7), vec![2, 5]);
        for element in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(element)).count(), 1);
        }
    }

    #[test]
    fn a_restricted_spec_keeps_its_steps_and_renumbers_their_dependencies() {
        let mut steps: Vec<StepSpec> = ["a", "b", "c", "d"]
            .iter()
            .map(|id| StepSpec::new(id, id))
            .collect();
        steps[1].upstream = vec![0];
        steps[2].upstream = vec![1];
        steps[3].upstream = vec![2];
        let mut spec = RunSpec::new("w", "r", steps);
        spec.outputs = vec![("x".into(), "{{ steps.d.output }}".into())];
        spec.shard = Some(Shard {
            step: 2,
            index: 1,
            count: 2,
        });
        assert_eq!(upstream_of(&spec, 2), vec![true, true, false, false]);
        let keep = [false, true, true, false];
        let restricted = spec.restricted(&keep);
        let ids: Vec<&str> = restricted.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(restricted.steps[0].upstream, Vec::<usize>::new());
        assert_eq!(restricted.steps[1].upstream, vec![0]);
        assert_eq!(restricted.shard.map(|s| s.step), Some(1));
        assert!(restricted.outputs.is_empty());
    }
}
