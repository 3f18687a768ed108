//! `weft diff RUN_A RUN_B`: what changed between two recorded runs, step by step and
//! fan-out element by element (rendered prompt, output, patch, status; tokens shown), for
//! reviewing a prompt change. Exit 0 when they do not differ, 1 when they do, 2 when a
//! run cannot be read (as `diff(1)`).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::commands::Writer;
use crate::cassette::labeled_diff;
use crate::error::{EXIT_STEP_FAILED, EXIT_SUCCESS, Error};
use crate::report::{RunDiff, RunState, RunStore, Side, UnitDiff};

/// `weft diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first run: its id, a unique prefix of it, `last`, or a run record directory.
    #[arg(value_name = "RUN_A")]
    pub a: String,
    /// The second run, found the same way.
    #[arg(value_name = "RUN_B")]
    pub b: String,
    /// `text` (changed steps with a unified diff of what changed) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// Where run records are.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".weft/runs",
        env = "WEFT_RUNS_DIR"
    )]
    pub runs_dir: PathBuf,
}

/// How `weft diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

/// `weft diff RUN_A RUN_B`; 0 same, 1 different.
pub fn diff(args: &DiffArgs, out: &mut Writer) -> Result<i32, Error> {
    let store = RunStore::new(&args.runs_dir);
    let (a_dir, b_dir) = (locate(&store, &args.a)?, locate(&store, &args.b)?);
    let (a, b) = (RunState::load(&a_dir)?, RunState::load(&b_dir)?);
    let diff = RunDiff::compare((&a, &a_dir), (&b, &b_dir));
    let text = match args.format {
        DiffFormat::Text => text(&diff),
        DiffFormat::Json => {
            let doc =
                json!({ "a": diff.a, "b": diff.b, "differs": diff.differs(), "units": diff.units });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write the diff".to_string(), e))?;
    Ok(if diff.differs() {
        EXIT_STEP_FAILED
    } else {
        EXIT_SUCCESS
    })
}

/// A run record directory as given, else the run `query` names in `store`.
fn locate(store: &RunStore, query: &str) -> Result<PathBuf, Error> {
    let path = Path::new(query);
    if path.join(crate::report::STATE_FILE).is_file() {
        return Ok(path.to_path_buf());
    }
    Ok(store.find(query)?)
}

/// The human form: a headline, the unchanged units on one line, then each other unit
/// with what changed and a unified diff of it.
fn text(diff: &RunDiff) -> String {
    let differing = diff.units.iter().filter(|u| u.state != "same").count();
    let mut out = format!(
        "runs {} and {}: {differing} of {} steps and elements differ\n",
        diff.a,
        diff.b,
        diff.units.len()
    );
    let same: Vec<String> = diff
        .units
        .iter()
        .filter(|u| u.state == "same")
        .map(name)
        .collect();
    if !same.is_empty() {
        out.push_str(&format!("unchanged: {}\n", same.join(", ")));
    }
    for unit in diff.units.iter().filter(|u| u.state != "same") {
        out.push_str(&changed(unit, (&diff.a, &diff.b)));
    }
    out
}

/// `step` or `step#index`.
fn name(unit: &UnitDiff) -> String {
    match unit.index {
        Some(ix) => format!("{}#{ix}", unit.step),
        None => unit.step.clone(),
    }
}

/// One unit that differs: what changed, then a diff of each changed text.
fn changed(unit: &UnitDiff, (a, b): (&str, &str)) -> String {
    let (x, y) = match (&unit.a, &unit.b) {
        (Some(x), Some(y)) => (x, y),
        (Some(_), None) => return format!("\nonly in {a}: {}\n", name(unit)),
        _ => return format!("\nonly in {b}: {}\n", name(unit)),
    };
    let mut out = format!(
        "\nchanged {}: {} (tokens {} -> {})\n",
        name(unit),
        unit.changed.join(", "),
        x.tokens,
        y.tokens
    );
    for field in &unit.changed {
        let (old, new) = (field_text(x, field), field_text(y, field));
        let labels = (
            format!("{a} {} {field}", name(unit)),
            format!("{b} {} {field}", name(unit)),
        );
        out.push_str(&labeled_diff(&old, &new, (&labels.0, &labels.1)));
    }
    out
}

/// The text of `field` of one side, as the diff shows it.
fn field_text(side: &Side, field: &str) -> String {
    match field {
        "status" => side.status.clone(),
        "prompt" => side.prompt.clone().unwrap_or_else(|| "(none)".into()),
        "patch" => side.patch.clone().unwrap_or_else(|| "(no changes)".into()),
        _ => match &side.output {
            Value::String(s) => s.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        },
    }
}
