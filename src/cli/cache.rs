//! `weft cache prune`: remove stored results from the result cache.

use super::cache_args::{CacheCommand, CacheCommandArgs, PruneArgs};
use super::commands::Writer;
use crate::engine::cache::{Prune, Store, format_size};
use crate::error::{EXIT_SUCCESS, Error};

/// `weft cache ...`.
pub fn cache(args: &CacheCommandArgs, out: &mut Writer) -> Result<i32, Error> {
    match &args.command {
        CacheCommand::Prune(prune) => prune_cache(prune, out),
    }
}

fn prune_cache(args: &PruneArgs, out: &mut Writer) -> Result<i32, Error> {
    if !args.all && args.max_size.is_none() && args.older_than.is_none() {
        return Err(Error::Usage(
            "say what to remove: `--max-size SIZE`, `--older-than DURATION` or `--all`".into(),
        ));
    }
    let store = Store::new(&args.cache_dir);
    let pruned = Prune {
        max_size: args.max_size,
        older_than: args.older_than,
        all: args.all,
    }
    .run(&store);
    let plural = |n: usize| if n == 1 { "result" } else { "results" };
    let _ = writeln!(
        out,
        "removed {} {} ({}) from `{}`; {} {} kept ({})",
        pruned.removed,
        plural(pruned.removed),
        format_size(pruned.freed),
        args.cache_dir.display(),
        pruned.kept,
        plural(pruned.kept),
        format_size(pruned.size),
    );
    Ok(EXIT_SUCCESS)
}
