//! Arguments of the commands over run records: `weft resume`, `weft runs`, `weft threads`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common_args::{AgentArgs, ReportArgs};
use crate::workflow::inputs::parse_pair;

/// `weft resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run: its id, a unique prefix of it, or `last`.
    #[arg(value_name = "RUN", required_unless_present = "last")]
    pub run: Option<String>,
    /// Resume the latest run.
    #[arg(long, conflicts_with = "run")]
    pub last: bool,
    /// Resume even though the workflow file changed: the changed steps and everything
    /// downstream of them run again.
    #[arg(long)]
    pub allow_changed: bool,
    /// A secret input, `name=value`, given again (the run record does not keep secrets);
    /// repeatable. The other inputs keep the values the run started with.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub inputs: Vec<(String, String)>,
    /// A JSON or YAML file of secret input values (`--input` wins over it).
    #[arg(long = "inputs", value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,
    /// Answers to the run's gates.
    #[command(flatten)]
    pub gates: super::gate_args::GateArgs,
    /// Answer the model's requests from this cassette, as `weft run --replay` does.
    #[arg(long, value_name = "CASSETTE")]
    pub replay: Option<PathBuf>,
    /// How `--replay` treats a request that differs from the cassette.
    #[arg(long, value_enum, default_value_t = super::args::ReplayMode::Strict, value_name = "MODE")]
    pub replay_mode: super::args::ReplayMode,
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub cache: super::cache_args::CacheArgs,
}

/// `weft runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Where run records are.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/runs",
        env = "WEFT_RUNS_DIR",
        global = true
    )]
    pub runs_dir: PathBuf,
}

/// `weft runs show`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Show one run step by step, or one step's prompt, output and transcript.
    Show {
        /// The run: its id, a unique prefix of it, or `last`.
        #[arg(value_name = "RUN")]
        run: String,
        /// A step of the run.
        #[arg(value_name = "STEP")]
        step: Option<String>,
        /// Print the step's patch (what it brought back to the working tree) and nothing
        /// else: `git apply` takes it.
        #[arg(long, requires = "step")]
        patch: bool,
        /// With `--patch`: the patch of this fan-out element (0-based) instead.
        #[arg(long, value_name = "N", requires = "patch")]
        element: Option<usize>,
    },
}

/// `weft threads`.
#[derive(Debug, Args)]
pub struct ThreadsArgs {
    /// Where run records are (to name the step that owns each thread).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/runs",
        env = "WEFT_RUNS_DIR"
    )]
    pub runs_dir: PathBuf,
    /// How many threads to list, most recent first.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub agent: AgentArgs,
}
