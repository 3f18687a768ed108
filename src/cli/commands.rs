//! `weft validate`, `weft plan` and `weft schema`, and the dispatch of every subcommand
//! (add a match arm for a new one). Subcommands write only to the writers they are given
//! and return their exit code, or an [`Error`] that `run` writes to `err`.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::args::{Cli, Command, PlanArgs, ValidateArgs, ValidateFormat};
use crate::error::{EXIT_INVALID, EXIT_SUCCESS, Error};
use crate::plan::render;
use crate::template::Renderer;
use crate::typing::{self, Checked};
use crate::workflow::{LoadError, WORKFLOW_SCHEMA, inputs};

/// Where a command writes: stdout or stderr, or a buffer in tests.
pub type Writer<'a> = dyn Write + Send + 'a;

/// Run the parsed command line; returns the exit code.
pub fn run(cli: Cli, out: &mut Writer, err: &mut Writer) -> i32 {
    let result = match cli.command {
        Command::Validate(args) => validate(&args, out, err),
        Command::Plan(args) => plan(&args, out, err),
        Command::Schema => schema(out),
        Command::Run(args) => super::run::run(&args, out, err),
        Command::Resume(args) => super::resume::resume(&args, out, err),
        Command::Runs(args) => super::runs::runs(&args, out),
        Command::Threads(args) => super::threads::threads(&args, out),
        Command::Test(args) => super::test_cmd::test(&args, out),
        Command::Doctor(args) => Ok(super::doctor::doctor(&args, out)),
        Command::Merge(args) => super::merge::merge(&args, out, err),
        Command::Export(args) => super::export::export(&args, out, err),
        Command::Diff(args) => super::diff::diff(&args, out),
        Command::Cache(args) => super::cache::cache(&args, out),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(err, "{}", error.render());
            error.exit_code()
        }
    }
}

/// Load, plan and type-check `path` against the environment the engine renders with;
/// a step in worktrees needs the current directory to be in a git repository.
pub(super) fn load_checked(path: &Path) -> Result<Checked, LoadError> {
    let renderer = Renderer::new();
    let checked = typing::load(path, renderer.environment())?;
    let here = std::env::current_dir().unwrap_or_else(|_| ".".into());
    super::trees::check_repo(checked, &here)
}

/// `weft validate FILE...`: exit 0 when every file is valid (warnings are printed and do
/// not count, unless `--deny-warnings`), 2 otherwise.
pub fn validate(args: &ValidateArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    let mut reports = Vec::new();
    let (mut bad_files, mut errors, mut warnings) = (0, 0, 0);
    for path in &args.files {
        let result = load_checked(path);
        let (e, w) = match &result {
            Ok(checked) => (0, checked.warnings.len()),
            Err(error) => (error.count(), error.warnings()),
        };
        errors += e;
        warnings += w;
        let valid = e == 0 && !(args.deny_warnings && w > 0);
        if !valid {
            bad_files += 1;
        }
        match args.format {
            ValidateFormat::Text => validate_text(path, &result, out, err),
            ValidateFormat::Json => reports.push(json!({
                "file": path.display().to_string(),
                "valid": valid,
                "diagnostics": match &result {
                    Ok(checked) => checked.warnings.0.iter().map(|d| d.to_json(&checked.workflow.source)).collect(),
                    Err(error) => error.to_json(),
                },
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
    } else if errors + warnings > 0 {
        let _ = writeln!(err, "{}", summary(errors, warnings, bad_files, args));
    }
    Ok(if bad_files == 0 {
        EXIT_SUCCESS
    } else {
        EXIT_INVALID
    })
}

fn validate_text(
    path: &Path,
    result: &Result<Checked, LoadError>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    match result {
        Ok(checked) => {
            if !checked.warnings.is_empty() {
                let _ = writeln!(err, "{}", checked.render_warnings());
            }
            let n = checked.workflow.steps.len();
            let called = checked.plan.steps.len() - n;
            let w = checked.warnings.len();
            let more = match called {
                0 => String::new(),
                k => format!(", {k} more in the workflows it calls"),
            };
            let _ = writeln!(
                out,
                "ok: {} ({n} {}{more}{})",
                path.display(),
                plural(n, "step", "steps"),
                if w > 0 {
                    format!(", {w} {}", plural(w, "warning", "warnings"))
                } else {
                    String::new()
                }
            );
        }
        Err(e) => {
            let _ = writeln!(err, "{}", e.render());
        }
    }
}

/// "2 errors, 1 warning in 1 of 3 files" (files counted when they failed).
fn summary(errors: usize, warnings: usize, bad_files: usize, args: &ValidateArgs) -> String {
    let mut parts = Vec::new();
    if errors > 0 {
        parts.push(format!("{errors} {}", plural(errors, "error", "errors")));
    }
    if warnings > 0 {
        parts.push(format!(
            "{warnings} {}",
            plural(warnings, "warning", "warnings")
        ));
    }
    let files = args.files.len();
    let denied = if errors == 0 && args.deny_warnings {
        " (--deny-warnings)"
    } else {
        ""
    };
    if bad_files > 0 {
        format!(
            "{} in {bad_files} of {files} {}{denied}",
            parts.join(", "),
            plural(files, "file", "files")
        )
    } else {
        format!(
            "{} in {files} valid {}",
            parts.join(", "),
            plural(files, "file", "files")
        )
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `weft plan FILE`.
pub fn plan(args: &PlanArgs, out: &mut Writer, err: &mut Writer) -> Result<i32, Error> {
    let checked = load_checked(&args.file)?;
    if !checked.warnings.is_empty() {
        let _ = writeln!(err, "{}", checked.render_warnings());
    }
    let Checked { workflow, plan, .. } = checked;
    if !args.inputs.is_empty() || args.inputs_file.is_some() || args.cache.cache {
        let values = inputs::resolve(&workflow, &args.inputs, args.inputs_file.as_deref())?;
        if args.cache.cache {
            return plan_with_cache(args, &workflow, &plan, values, out);
        }
    }
    let _ = write!(out, "{}", render(&plan, &workflow, args.format));
    Ok(EXIT_SUCCESS)
}

/// `weft plan --cache`: the plan, then what the result cache would serve.
fn plan_with_cache(
    args: &PlanArgs,
    workflow: &crate::workflow::Workflow,
    plan: &crate::plan::Plan,
    values: serde_json::Map<String, serde_json::Value>,
    out: &mut Writer,
) -> Result<i32, Error> {
    use super::plan_cache;
    let verdicts = plan_cache::verdicts(&args.cache, workflow, plan, values);
    let rendered = render(plan, workflow, args.format);
    match args.format {
        crate::plan::Format::Json => {
            let mut doc: serde_json::Value = serde_json::from_str(&rendered).unwrap_or_default();
            if let serde_json::Value::Object(map) = &mut doc {
                map.insert("cache".into(), plan_cache::json(&verdicts));
            }
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let _ = writeln!(out, "{text}");
        }
        _ => {
            let _ = write!(out, "{rendered}");
            let _ = write!(
                out,
                "{}",
                plan_cache::text(&verdicts, &args.cache.cache_dir)
            );
        }
    }
    Ok(EXIT_SUCCESS)
}

/// `weft schema`.
pub fn schema(out: &mut Writer) -> Result<i32, Error> {
    let _ = write!(out, "{WORKFLOW_SCHEMA}");
    Ok(EXIT_SUCCESS)
}
