//! Named pools: how many running units of the steps in each pool there are, against the
//! pool's size (`pools: { heavy: 2 }`, `pool: heavy`). Beside `--jobs`, which counts
//! every running unit.

use std::collections::HashMap;

use super::spec::RunSpec;

/// The places taken in each pool.
#[derive(Debug, Default)]
pub(super) struct PoolBook {
    taken: HashMap<String, usize>,
}

impl PoolBook {
    /// Whether a unit of step `i` may start now (a step in no pool always may).
    pub fn free(&self, spec: &RunSpec, i: usize) -> bool {
        let Some(pool) = &spec.steps[i].pool else {
            return true;
        };
        let size = spec.pool_size(pool).unwrap_or(usize::MAX);
        self.taken.get(pool).copied().unwrap_or(0) < size
    }

    /// A unit of step `i` started.
    pub fn take(&mut self, spec: &RunSpec, i: usize) {
        if let Some(pool) = &spec.steps[i].pool {
            *self.taken.entry(pool.clone()).or_default() += 1;
        }
    }

    /// A unit of step `i` ended.
    pub fn give_back(&mut self, spec: &RunSpec, i: usize) {
        if let Some(pool) = &spec.steps[i].pool {
            if let Some(n) = self.taken.get_mut(pool) {
                *n = n.saturating_sub(1);
            }
        }
    }
}
