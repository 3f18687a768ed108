//! The `weft` command line: clap arguments and the subcommands built on the workflow layer.

mod args;
mod commands;
mod run;

pub use args::{Cli, Command, PlanArgs, RunArgs, RunOutput, ValidateArgs, ValidateFormat};
pub use commands::{plan, run, schema, validate};
