//! `weft validate`, `weft plan` and `weft schema`, and the dispatch of every subcommand
//! (add a match arm for a new one). Subcommands write only to the writers they are given
//! and return their exit code, or an [`Error`] that `run` writes to `err`.

use std::io::Write;

use serde_json::json;

use super::args::{Cli, Command, PlanArgs, ValidateArgs, ValidateFormat};
use crate::error::{EXIT_INVALID, EXIT_SUCCESS, Error};
use crate::plan::render;
use crate::workflow::{WORKFLOW_SCHEMA, inputs};

/// Where a command writes: stdout or stderr, or a buffer in tests.
pub type Writer = dyn Write + Send;

/// Run the parsed command line; returns the exit code.
pub fn run(cli: Cli, out: &mut Writer, err: &mut Writer) -> i32 {
    let result = match cli.command {
        Command::Validate(args) => validate(&args, out, err),
        Command::Plan(args) => plan(&args, out),
        Command::Schema => schema(out),
        Command::Run(args) => super::run::run(&args, out, err),
        Command::Resume(args) => super::resume::resume(&args, out, err),
        Command::Runs(args) => super::runs::runs(&args, out),
        Command::Threads(args) => super::threads::threads(&args, out),
        Command::Test(args) => super::test_cmd::test(&args, out),
        Command::Doctor(args) => Ok(super::doctor::doctor(&args, out)),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(err, "{}", error.render());
            error.exit_code()
        }
    }
}

/// `weft validate FILE...`.
pub fn validate(args: &ValidateArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    let mut reports = Vec::new();
    let (mut bad_files, mut problems) = (0, 0);
    for path in &args.files {
        let result = crate::plan::load(path);
        if let Err(error) = &result {
            bad_files += 1;
            problems += error.count();
        }
        match (args.format, result) {
            (ValidateFormat::Text, Ok((w, _))) => {
                let n = w.steps.len();
                let _ = writeln!(
                    out,
                    "ok: {} ({n} {})",
                    path.display(),
                    if n == 1 { "step" } else { "steps" }
                );
            }
            (ValidateFormat::Text, Err(e)) => {
                let _ = writeln!(err, "{}", e.render());
            }
            (ValidateFormat::Json, result) => reports.push(json!({
                "file": path.display().to_string(),
                "valid": result.is_ok(),
                "diagnostics": result.err().map(|e| e.to_json()).unwrap_or_default(),
            })),
        }
    }
    if args.format == ValidateFormat::Json {
        let doc = json!({ "valid": bad_files == 0, "files": reports });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    } else if bad_files > 0 {
        let _ = writeln!(
            err,
            "{problems} {} in {bad_files} of {} {}",
            if problems == 1 { "error" } else { "errors" },
            args.files.len(),
            if args.files.len() == 1 {
                "file"
            } else {
                "files"
            },
        );
    }
    Ok(if bad_files == 0 {
        EXIT_SUCCESS
    } else {
        EXIT_INVALID
    })
}

/// `weft plan FILE`.
pub fn plan(args: &PlanArgs, out: &mut Writer) -> Result<i32, Error> {
    let (workflow, plan) = crate::plan::load(&args.file)?;
    if !args.inputs.is_empty() || args.inputs_file.is_some() {
        inputs::resolve(&workflow, &args.inputs, args.inputs_file.as_deref())?;
    }
    let _ = write!(out, "{}", render(&plan, &workflow, args.format));
    Ok(EXIT_SUCCESS)
}

/// `weft schema`.
pub fn schema(out: &mut Writer) -> Result<i32, Error> {
    let _ = write!(out, "{WORKFLOW_SCHEMA}");
    Ok(EXIT_SUCCESS)
}
