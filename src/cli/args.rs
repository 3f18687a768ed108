//! Command-line arguments (clap derive); `///` comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::Format;
use crate::workflow::inputs::parse_pair;

/// Run declarative YAML workflows of Codex agent turns.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. Exit codes: 0 success, 1 a step failed, 2 invalid workflow or usage,
/// 3 the agent could not be reached, 130 interrupted.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check workflow files and report every problem at once (exit 2 if any file is invalid).
    Validate(ValidateArgs),
    /// Show the execution plan: levels, dependencies, threads, effective policies.
    Plan(PlanArgs),
    /// Print the JSON Schema of workflow files (for editors: yaml-language-server).
    Schema,
}

/// `weft validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Workflow files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format: diagnostics as text on stderr, or JSON on stdout.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text, env = "WEFT_FORMAT")]
    pub format: ValidateFormat,
}

/// Output formats of `weft validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// `file:line:col`, the line and a caret, on stderr.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// `weft plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The workflow file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// An input value, `name=value` (JSON for arrays and objects); repeatable. Checked against
    /// the declarations when given.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub inputs: Vec<(String, String)>,
    /// A JSON or YAML file of input values (`--input` wins over it).
    #[arg(long = "inputs", value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,
}
