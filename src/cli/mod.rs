//! The `weft` command line: clap arguments and the subcommands built on the workflow layer.

mod args;
mod commands;
mod run;
mod tape;
mod test_cmd;
mod workspace;

pub use args::{
    Cli, Command, PlanArgs, ReplayMode, RunArgs, RunOutput, TestArgs, ValidateArgs, ValidateFormat,
};
pub use commands::{plan, run, schema, validate};
