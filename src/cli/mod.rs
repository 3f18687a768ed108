//! The `weft` command line: clap arguments and the subcommands built on the workflow layer.

mod args;
mod commands;
mod run;
mod tape;

pub use args::{
    Cli, Command, PlanArgs, ReplayMode, RunArgs, RunOutput, ValidateArgs, ValidateFormat,
};
pub use commands::{plan, run, schema, validate};
