//! The `weft` command line: clap arguments and the subcommands built on the workflow layer.

mod args;
mod cache;
mod cache_args;
mod cache_setup;
mod commands;
mod common_args;
mod diff;
mod doctor;
mod dry_run;
mod export;
mod finish;
mod gate_args;
mod gate_prompt;
mod github_actions;
mod merge;
mod merge_join;
mod plan_cache;
mod record_args;
mod resume;
mod resume_secrets;
mod run;
mod runs;
mod sandbox_probe;
mod session;
mod shard;
mod shard_args;
mod tape;
mod test_cmd;
mod threads;
mod trees;
mod workspace;

pub use args::{
    Cli, Command, DoctorArgs, PlanArgs, ReplayMode, RunArgs, TestArgs, ValidateArgs, ValidateFormat,
};
pub use cache_args::{CacheArgs, CacheCommand, CacheCommandArgs, PlanCacheArgs, PruneArgs};
pub use commands::{plan, run, schema, validate};
pub use common_args::{AgentArgs, ColorChoice, Progress, ReportArgs, RunOutput};
pub use diff::{DiffArgs, DiffFormat};
pub use export::{ExportArgs, ExportTarget, GithubActionsArgs};
pub use gate_args::{GateArgs, Reply};
pub use record_args::{ResumeArgs, RunsArgs, RunsCommand, ThreadsArgs};
pub use shard_args::{MergeArgs, ShardArgs};
