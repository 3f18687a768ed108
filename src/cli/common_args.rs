//! Arguments shared by `weft run` and `weft resume`: how to reach the agent, and what the
//! run shows and leaves behind.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::workflow::inputs::parse_pair;

/// How to start the app-server.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// The codex binary (default: `codex` on PATH).
    #[arg(long, value_name = "PATH", env = "CODEX_BIN")]
    pub codex_bin: Option<PathBuf>,
    /// A Codex config override passed to the app-server as `-c key=value`; repeatable.
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub config: Vec<(String, String)>,
    /// Fail a turn when the agent sends nothing for this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::args::parse_duration_arg)]
    pub idle_timeout: std::time::Duration,
    /// How many threads weft is done with may stay loaded in the app-server before it
    /// unloads the oldest: more is quicker (unloading costs the app-server about 10 ms per
    /// thread, one thread at a time), fewer takes less memory (about 1 MB per thread).
    #[arg(long, value_name = "N", default_value_t = crate::engine::IDLE_THREADS, env = "WEFT_IDLE_THREADS")]
    pub idle_threads: usize,
}

/// What a run shows (stderr, stdout) and writes (records, events, JUnit).
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// What stdout carries: the workflow outputs as text, one JSON document with the
    /// status, outputs and every step's result, or nothing (for `--events -`).
    #[arg(long, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    /// Also write every event as JSON Lines to this file; `-` is stdout (with `--output off`).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write a JUnit XML report here: one testcase per step and per fan-out element.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// How progress is shown on stderr: a live view on a terminal (auto), or one line per event.
    #[arg(long, value_enum, default_value_t = Progress::Auto, env = "WEFT_PROGRESS")]
    pub progress: Progress,
    /// Colour on stderr (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Where run records go.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/runs",
        env = "WEFT_RUNS_DIR"
    )]
    pub runs_dir: PathBuf,
    /// Also show what the agent writes, as it writes it.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// What `weft run` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOutput {
    /// The workflow outputs, one `name: value` per line.
    Text,
    /// `{"status", "outputs", "steps": {id: {status, output, thread_id, usage, duration_ms}}}`.
    Json,
    /// Nothing: stdout is left to `--events -`.
    Off,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// `live` when stderr is a terminal, else `plain`.
    Auto,
    /// A line per running step with what the agent does now, and an overall bar.
    Live,
    /// One line per event, no control characters.
    Plain,
}

/// Whether stderr is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour stderr: `always`, `never`, or (auto) a terminal without `NO_COLOR`.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                use std::io::IsTerminal;
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                !no_color && std::io::stderr().is_terminal() && !dumb_terminal()
            }
        }
    }
}

impl Progress {
    /// Whether the live view is used.
    pub fn live(self) -> bool {
        match self {
            Progress::Live => true,
            Progress::Plain => false,
            Progress::Auto => {
                use std::io::IsTerminal;
                std::io::stderr().is_terminal() && !dumb_terminal()
            }
        }
    }
}

fn dumb_terminal() -> bool {
    std::env::var("TERM").is_ok_and(|t| t == "dumb")
}
