//! Arguments for running a fan-out on several machines: `weft run --shard K/N`,
//! `--upstream-only`, `--from`, and `weft merge`.

use std::path::PathBuf;

use clap::Args;

use super::common_args::{AgentArgs, ReportArgs};

/// How `weft run` takes part in a sharded fan-out.
#[derive(Debug, Clone, Default, Args)]
pub struct ShardArgs {
    /// Run shard K of N of the fan-out step (`--shard-step`): the steps upstream of it (or
    /// those of `--from`), then only its elements i with i mod N = K - 1. The steps after
    /// the fan-out run when the shards are merged (`weft merge`).
    #[arg(long, value_name = "K/N", value_parser = parse_shard, conflicts_with = "dry_run")]
    pub shard: Option<(usize, usize)>,
    /// The `for_each` step to shard (default: the workflow's only one).
    #[arg(long, value_name = "STEP")]
    pub shard_step: Option<String>,
    /// Take the steps upstream of the fan-out from this run (its id, a unique prefix,
    /// `last`, or a run record directory) instead of running them again, so that every
    /// shard fans out over the same elements.
    #[arg(long, value_name = "RECORD", requires = "shard")]
    pub from: Option<String>,
    /// Run only the steps upstream of the fan-out step, for shards to start from
    /// (`--from`).
    #[arg(long, conflicts_with_all = ["shard", "dry_run"])]
    pub upstream_only: bool,
}

impl ShardArgs {
    /// Whether the run is part of a sharded fan-out.
    pub fn active(&self) -> bool {
        self.shard.is_some() || self.upstream_only
    }
}

/// `K/N` with 1 <= K <= N.
fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let usage = || format!("invalid shard `{text}`: write K/N, e.g. `2/5` (K from 1 to N)");
    let (k, n) = text.split_once('/').ok_or_else(usage)?;
    let (k, n) = (
        k.trim().parse::<usize>().map_err(|_| usage())?,
        n.trim().parse::<usize>().map_err(|_| usage())?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(usage());
    }
    Ok((k, n))
}

/// `weft merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard runs: run ids (in `--runs-dir`), unique prefixes, or run record
    /// directories; every shard of the fan-out, once.
    #[arg(value_name = "RECORD", required = true)]
    pub records: Vec<String>,
    /// The workflow file (default: the path the shards recorded; its content must be the
    /// same).
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// How many turns may run at once (default: what the shards ran with).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_k_of_n() {
        assert_eq!(parse_shard("2/5"), Ok((2, 5)));
        assert_eq!(parse_shard("1/1"), Ok((1, 1)));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
