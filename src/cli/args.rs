//! Command-line arguments (clap derive); `///` comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::common_args::{AgentArgs, ReportArgs};
use super::export::ExportArgs;
use super::record_args::{ResumeArgs, RunsArgs, ThreadsArgs};
use super::shard_args::{MergeArgs, ShardArgs};
use crate::plan::Format;
use crate::vocab::Effort;
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
/// 3 the agent could not be reached, 4 waiting for a gate's answer, 130 interrupted.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check workflow files and report every problem at once (exit 2 if any file is invalid).
    Validate(ValidateArgs),
    /// Show the execution plan: levels, dependencies, threads, effective policies.
    Plan(PlanArgs),
    /// Print the JSON Schema of workflow files (for editors: yaml-language-server).
    Schema,
    /// Run a workflow: turns of the Codex agent, scripts and gates (exit 0 ok, 1 a step
    /// failed, 2 invalid workflow or inputs, 3 the agent failed, 4 waiting for a gate's
    /// answer, 130 interrupted).
    Run(Box<RunArgs>),
    /// Continue a run that failed, was interrupted or waits at a gate (`--approve STEP`,
    /// `--reject STEP`): steps that succeeded keep their outputs, named threads and loops
    /// continue, the rest runs again (exit codes as `run`).
    Resume(ResumeArgs),
    /// List the recorded runs, or show one (`weft runs show RUN [STEP]`).
    Runs(RunsArgs),
    /// List the agent's threads and the run step that owns each.
    Threads(ThreadsArgs),
    /// Replay every workflow in DIR that has a cassette and expectations beside it
    /// (`NAME.yaml`, `NAME.cassette.json`, `NAME.expect.json`) and compare (exit 1 on a
    /// difference).
    Test(TestArgs),
    /// Check that this machine can run workflows: the codex binary and its version,
    /// `CODEX_HOME`, the app-server, model credentials, the sandbox (exit 1 if any fails).
    Doctor(DoctorArgs),
    /// Join the shard runs of a fan-out (`weft run --shard K/N`) into one run, then run the
    /// steps after the fan-out (exit codes as `run`; 2 when a shard is missing or the
    /// shards disagree).
    Merge(MergeArgs),
    /// What changed between two recorded runs, step by step and element by element:
    /// prompt, output, patch, status (exit 0 the same, 1 different, 2 a run cannot be read).
    Diff(super::diff::DiffArgs),
    /// Manage the result cache (`weft cache prune --max-size 500MB`, `--older-than 7d`,
    /// `--all`).
    Cache(super::cache_args::CacheCommandArgs),
    /// Write a CI workflow that shards the workflow's fan-out across jobs
    /// (`weft export github-actions FILE --shards N`).
    Export(ExportArgs),
}

/// `weft doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The codex binary (default: `codex` on PATH).
    #[arg(long, value_name = "PATH", env = "CODEX_BIN")]
    pub codex_bin: Option<PathBuf>,
    /// A Codex config override passed to the app-server as `-c key=value`; repeatable.
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub config: Vec<(String, String)>,
}

/// `weft test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The directory of workflows.
    #[arg(value_name = "DIR", default_value = "workflows")]
    pub dir: PathBuf,
    /// The codex binary (default: `codex` on PATH).
    #[arg(long, value_name = "PATH", env = "CODEX_BIN")]
    pub codex_bin: Option<PathBuf>,
    /// Write each `NAME.expect.json` from this replay instead of comparing.
    #[arg(long)]
    pub update: bool,
}

/// `weft run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An input value, `name=value` (JSON for arrays and objects); repeatable.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub inputs: Vec<(String, String)>,
    /// A JSON or YAML file of input values (`--input` wins over it).
    #[arg(long = "inputs", value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,
    /// How many turns may run at once.
    #[arg(long, short = 'j', default_value_t = 4, env = "WEFT_JOBS")]
    pub jobs: usize,
    /// Stop starting steps after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// A time limit for the whole run (`30m`, `1h`); running turns are interrupted.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub timeout: Option<std::time::Duration>,
    /// Use this model for every step (overrides the file).
    #[arg(long, env = "WEFT_MODEL")]
    pub model: Option<String>,
    /// Use this reasoning effort for every step (overrides the file).
    #[arg(long, value_enum)]
    pub effort: Option<Effort>,
    /// Validate, render the prompts that do not depend on other steps, show the plan; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Run for real and save every model request and answer to this cassette file
    /// (credentials are passed through, never saved).
    #[arg(long, value_name = "CASSETTE", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Answer the model's requests from this cassette: no network, no key. Commands and
    /// file edits still run. Inputs not given are taken from the cassette.
    #[arg(long, value_name = "CASSETTE")]
    pub replay: Option<PathBuf>,
    /// `strict`: a request whose prompt or output schema differs from the cassette fails
    /// its step, showing the difference; `lenient`: warn and replay the recorded answer.
    #[arg(long, value_enum, default_value_t = ReplayMode::Strict, value_name = "MODE")]
    pub replay_mode: ReplayMode,
    /// Answers to gates, given before they are reached.
    #[command(flatten)]
    pub gates: super::gate_args::GateArgs,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub cache: super::cache_args::CacheArgs,
}

/// How `--replay` treats a request that differs from the cassette.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ReplayMode {
    /// Fail the request (and so its step) and show the difference.
    #[default]
    Strict,
    /// Show the difference as a warning and serve the recorded answer.
    Lenient,
}

/// `--effort` takes the workflow file's spellings.
impl ValueEnum for Effort {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Effort::None,
            Effort::Minimal,
            Effort::Low,
            Effort::Medium,
            Effort::High,
            Effort::Xhigh,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

pub(super) fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    crate::vocab::parse_duration(text).ok_or_else(|| {
        format!("invalid duration `{text}`: write a number and a unit (`90s`, `10m`, `1h30m`)")
    })
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
    /// Treat warnings as errors: exit 2 when a file has any (for CI).
    #[arg(long)]
    pub deny_warnings: bool,
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
    #[command(flatten)]
    pub cache: super::cache_args::PlanCacheArgs,
}
