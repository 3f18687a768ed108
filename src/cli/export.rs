//! `weft export github-actions FILE`: writes a CI workflow that runs a weft workflow's
//! fan-out sharded across jobs (see [`super::github_actions`]).

use std::path::{Component, Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::Map;

use super::commands::Writer;
use super::github_actions::{Export, MAX_SHARDS};
use super::shard::fan_out_step;
use crate::engine::shard::upstream_of;
use crate::engine::spec::{RunSpec, ThreadMode};
use crate::engine::{self, RunOptions};
use crate::error::{EXIT_SUCCESS, Error};
use crate::report::write_atomic;

/// The action the exported workflow uses unless `--action` says otherwise: a placeholder
/// for where your organisation gets weft.
pub const DEFAULT_ACTION: &str = "OWNER/weft@main";

/// `weft export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub target: ExportTarget,
}

/// What to export to.
#[derive(Debug, Subcommand)]
pub enum ExportTarget {
    /// A GitHub Actions workflow: a job for the steps before the fan-out, a matrix of shard
    /// jobs, and a merge job for the steps after it.
    GithubActions(GithubActionsArgs),
}

/// `weft export github-actions`.
#[derive(Debug, Args)]
pub struct GithubActionsArgs {
    /// The weft workflow file, relative to the repository root (run this there).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How many shard jobs (1 to 256, GitHub's limit for one matrix).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub shards: usize,
    /// The `for_each` step to shard (default: the workflow's only one).
    #[arg(long, value_name = "STEP")]
    pub shard_step: Option<String>,
    /// The action that installs weft and the Codex CLI: `owner/repo@ref` of a repository
    /// with weft's `action.yml`, or `./` in weft's own repository.
    #[arg(long, value_name = "REF", default_value = DEFAULT_ACTION)]
    pub action: String,
    /// Write the workflow to this file (default: stdout).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `weft export TARGET`.
pub fn export(args: &ExportArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    let ExportTarget::GithubActions(args) = &args.target;
    if args.shards == 0 || args.shards > MAX_SHARDS {
        return Err(Error::Usage(format!(
            "`--shards {}`: a GitHub Actions matrix runs 1 to {MAX_SHARDS} jobs",
            args.shards
        )));
    }
    let checked = super::commands::load_checked(&args.file)?;
    let workflow = &checked.workflow;
    let spec = engine::run_spec(workflow, &checked.plan, Map::new(), &RunOptions::default());
    let step = fan_out_step(&spec, args.shard_step.as_deref())?;
    let export = Export {
        name: &workflow.name,
        path: &repository_path(&args.file),
        step: &spec.steps[step].id,
        shards: args.shards,
        inputs: &workflow.inputs,
        action: &args.action,
        command: command_line(args),
        notes: notes(&spec, step),
    };
    let text = export.render();
    for note in &export.notes {
        let _ = writeln!(err, "note: {note}");
    }
    if args.action == DEFAULT_ACTION {
        let _ = writeln!(
            err,
            "note: the workflow installs weft with the action `{DEFAULT_ACTION}`; pass `--action` \
             with where your organisation gets weft"
        );
    }
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())
            .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?,
        None => {
            let _ = write!(out, "{text}");
        }
    }
    Ok(EXIT_SUCCESS)
}

/// The workflow file's path as the jobs see it, from the repository root (`./`, `..` and
/// the current directory taken out).
fn repository_path(file: &Path) -> String {
    let relative = match std::env::current_dir() {
        Ok(cwd) if file.is_absolute() => file.strip_prefix(&cwd).unwrap_or(file).to_path_buf(),
        _ => file.to_path_buf(),
    };
    let mut parts: Vec<Component> = Vec::new();
    for part in relative.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.iter().collect::<PathBuf>().display().to_string()
}

fn command_line(args: &GithubActionsArgs) -> String {
    let mut line = format!(
        "weft export github-actions {} --shards {}",
        repository_path(&args.file),
        args.shards
    );
    if let Some(step) = &args.shard_step {
        line.push_str(&format!(" --shard-step {step}"));
    }
    if args.action != DEFAULT_ACTION {
        line.push_str(&format!(" --action {}", args.action));
    }
    line
}

/// What will not work when the jobs run on different machines: a step after the fan-out
/// that continues (or forks) a named thread a step before it started; that thread exists
/// only where the upstream job ran.
fn notes(spec: &RunSpec, step: usize) -> Vec<String> {
    let upstream = upstream_of(spec, step);
    let name_of = |mode: &ThreadMode| match mode {
        ThreadMode::Named(n) | ThreadMode::Fork(n) => Some(n.clone()),
        ThreadMode::Fresh | ThreadMode::Resume(_) => None,
    };
    let before: Vec<String> = (spec.steps.iter().enumerate())
        .filter(|(i, _)| upstream[*i])
        .filter_map(|(_, s)| name_of(&s.thread))
        .collect();
    (spec.steps.iter().enumerate())
        .filter(|(i, _)| !upstream[*i] && *i != step)
        .filter_map(|(_, s)| {
            let name = name_of(&s.thread).filter(|n| before.contains(n))?;
            Some(format!(
                "step `{}` continues thread `{name}` from before the fan-out, but the merge job \
                 runs on another machine, where that thread does not exist: give the step a \
                 thread of its own",
                s.id
            ))
        })
        .collect()
}
