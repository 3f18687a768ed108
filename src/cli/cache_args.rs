//! The result cache's command-line arguments: `--cache`, `--no-cache`, `--cache-dir`,
//! `--cache-max-size` on `weft run` and `weft resume`, and `weft cache prune`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::engine::cache::parse_size;
use crate::vocab::parse_duration;

/// How a run uses the result cache.
#[derive(Debug, Clone, Args)]
pub struct CacheArgs {
    /// Serve and store the results of every step that can be cached, not only of those
    /// with `cache: true`.
    #[arg(long, conflicts_with = "no_cache")]
    pub cache: bool,
    /// Neither serve nor store any result (the cache is left as it is).
    #[arg(long)]
    pub no_cache: bool,
    /// Where the result cache is kept.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/cache",
        env = "WEFT_CACHE_DIR"
    )]
    pub cache_dir: PathBuf,
    /// The cache's size bound (`1GiB`, `500MB`): when a run ends, the least recently used
    /// results are removed until the cache fits.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = size_arg)]
    pub cache_max_size: u64,
}

/// `weft cache`.
#[derive(Debug, Args)]
pub struct CacheCommandArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// What `weft cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove stored results: the least recently used until the cache fits `--max-size`,
    /// those not used for `--older-than`, or `--all`.
    Prune(PruneArgs),
}

/// `weft cache prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove the least recently used results until the cache is no bigger (`500MB`).
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub max_size: Option<u64>,
    /// Remove the results not used for this long (`7d`, `12h`, `30m`).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub older_than: Option<Duration>,
    /// Remove every stored result.
    #[arg(long)]
    pub all: bool,
    /// Where the result cache is kept.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/cache",
        env = "WEFT_CACHE_DIR"
    )]
    pub cache_dir: PathBuf,
}

fn size_arg(text: &str) -> Result<u64, String> {
    parse_size(text).ok_or_else(|| format!("`{text}` is not a size (`1GiB`, `500MB`, `64k`)"))
}

/// A duration as workflows write them (`12h`, `30m`), or whole days (`7d`).
fn duration_arg(text: &str) -> Result<Duration, String> {
    let days = text.strip_suffix('d').and_then(|n| n.parse::<u64>().ok());
    days.map(|d| Duration::from_secs(d * 86_400))
        .or_else(|| parse_duration(text))
        .ok_or_else(|| format!("`{text}` is not a duration (`7d`, `12h`, `30m`, `90s`)"))
}

/// `weft plan --cache`: what the cache would serve.
#[derive(Debug, Clone, Args)]
pub struct PlanCacheArgs {
    /// Also say, per step, whether its result would be served from the result cache, and
    /// if not, why (which part of its key changed since its last stored result).
    #[arg(long)]
    pub cache: bool,
    /// Where the result cache is kept.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/cache",
        env = "WEFT_CACHE_DIR"
    )]
    pub cache_dir: PathBuf,
    /// The codex binary the run would use (its version is part of a turn's key).
    #[arg(long, value_name = "PATH", env = "CODEX_BIN")]
    pub codex_bin: Option<PathBuf>,
    /// The `-c key=value` overrides the run would pass (part of a turn's key); repeatable.
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE", value_parser = crate::workflow::inputs::parse_pair)]
    pub config: Vec<(String, String)>,
}
