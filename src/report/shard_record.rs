//! What a run record says about its part in a sharded fan-out.

use serde::{Deserialize, Serialize};

/// A run that is one part of a sharded fan-out (`weft run --shard K/N`, `--upstream-only`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// The fan-out step.
    pub step: String,
    /// Which shard, from 1 to `count`; none for a run of the upstream steps alone.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<usize>,
    /// How many shards there are; none for a run of the upstream steps alone.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub count: Option<usize>,
    /// The run whose upstream steps the shard took instead of running them (`--from`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
}

impl ShardRecord {
    /// `shard 2/3 of `each``, or `the upstream steps of `each``.
    pub fn describe(&self) -> String {
        match (self.index, self.count) {
            (Some(k), Some(n)) => format!("shard {k}/{n} of `{}`", self.step),
            _ => format!("the steps upstream of `{}`", self.step),
        }
    }
}
