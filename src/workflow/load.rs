//! `load`: read a workflow file, parse it, check it against the schema, lower it and run
//! every semantic check; all problems come back together as one [`LoadError`].
//! ([`crate::plan::load`] adds the planner's checks: what `weft validate` runs.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::calls::Calls;
use super::de::from_node;
use super::diagnostic::{Diagnostic, Diagnostics, JsonDiagnostic, Severity};
use super::lower::{Context, lower};
use super::model::Workflow;
use super::node::{Node, NodeKind};
use super::parse::parse;
use super::raw::RawWorkflow;
use super::schema;
use super::source::{SourceFile, Span};
use super::templates;
use super::validate::validate;

/// Why a workflow could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read `{}`: {message}", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The file is not a valid workflow; every problem found is listed.
    #[error("{}", .source_file.path.display())]
    Invalid {
        /// The file, to render the diagnostics against.
        source_file: Arc<SourceFile>,
        /// The problems, in source order.
        diagnostics: Diagnostics,
    },
}

impl LoadError {
    /// The diagnostics as text: `error: …`, `--> file:line:col`, the line and a caret.
    pub fn render(&self) -> String {
        match self {
            LoadError::Read { .. } => format!("error: {self}\n"),
            LoadError::Invalid {
                source_file,
                diagnostics,
            } => diagnostics.render(source_file),
        }
    }

    /// The diagnostics in machine-readable form.
    pub fn to_json(&self) -> Vec<JsonDiagnostic> {
        match self {
            LoadError::Read { path, .. } => vec![JsonDiagnostic {
                severity: Severity::Error,
                file: path.display().to_string(),
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
                message: self.to_string(),
                help: None,
            }],
            LoadError::Invalid {
                source_file,
                diagnostics,
            } => diagnostics
                .0
                .iter()
                .map(|d| d.to_json(source_file))
                .collect(),
        }
    }

    /// How many errors (warnings are not counted).
    pub fn count(&self) -> usize {
        match self {
            LoadError::Read { .. } => 1,
            LoadError::Invalid { diagnostics, .. } => diagnostics.errors(),
        }
    }

    /// How many warnings came with the errors.
    pub fn warnings(&self) -> usize {
        match self {
            LoadError::Read { .. } => 0,
            LoadError::Invalid { diagnostics, .. } => diagnostics.warnings(),
        }
    }
}

/// A workflow file as checked: what could be built of it, and every problem found.
///
/// [`crate::plan::load`] plans a checked workflow and adds the planner's problems (cycles,
/// impossible forks) before deciding; [`load`] decides on the file's own problems.
#[derive(Debug)]
pub struct Checked {
    /// The file, to render the diagnostics against.
    pub source: Arc<SourceFile>,
    /// The workflow, when the file parsed far enough to build one (even with problems).
    pub workflow: Option<Workflow>,
    /// Every problem found.
    pub diagnostics: Diagnostics,
}

impl Checked {
    /// The workflow when it was built and has no problem; else every problem, in source order.
    pub fn into_result(self) -> Result<Workflow, LoadError> {
        match self.workflow {
            Some(workflow) if self.diagnostics.is_empty() => Ok(workflow),
            _ => Err(self.into_error()),
        }
    }

    /// The problems, in source order, as an error.
    pub fn into_error(mut self) -> LoadError {
        self.diagnostics.sort();
        LoadError::Invalid {
            source_file: self.source,
            diagnostics: self.diagnostics,
        }
    }
}

/// Load and check the workflow file at `path` (not planned: see [`crate::plan::load`]).
pub fn load(path: impl AsRef<Path>) -> Result<Workflow, LoadError> {
    check(path)?.into_result()
}

/// Load a workflow from `text`, as if read from `path`, with relative paths under `base_dir`.
pub fn load_str(
    path: impl Into<PathBuf>,
    text: impl Into<String>,
    base_dir: &Path,
) -> Result<Workflow, LoadError> {
    check_str(path, text, base_dir).into_result()
}

/// Read and check the workflow file at `path`; fails only when it cannot be read.
pub fn check(path: impl AsRef<Path>) -> Result<Checked, LoadError> {
    let path = path.as_ref();
    check_in(path, &Calls::new(path))
}

/// [`check`] of a file reached through `calls` (the chain of files calling it).
pub(super) fn check_in(path: &Path, calls: &Calls) -> Result<Checked, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::Read {
        path: path.to_path_buf(),
        message: e.to_string().to_lowercase(),
    })?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    match String::from_utf8(bytes) {
        Ok(text) => Ok(check_text(path.to_path_buf(), text, &base_dir, calls)),
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let mut diagnostics = Diagnostics::default();
            diagnostics.error(Span::new(at, at + 1), "the file is not valid utf-8");
            Ok(Checked {
                source: Arc::new(SourceFile::new(path, text)),
                workflow: None,
                diagnostics,
            })
        }
    }
}

/// Check a workflow from `text`, as if read from `path`, with relative paths under `base_dir`.
pub fn check_str(path: impl Into<PathBuf>, text: impl Into<String>, base_dir: &Path) -> Checked {
    let path = path.into();
    let top = base_dir.join(path.file_name().unwrap_or(path.as_os_str()));
    check_text(path, text.into(), base_dir, &Calls::new(&top))
}

fn check_text(path: PathBuf, text: String, base_dir: &Path, calls: &Calls) -> Checked {
    let source = Arc::new(SourceFile::new(path, text));
    let (workflow, diagnostics) = analyze(&source, base_dir, calls);
    Checked {
        source,
        workflow,
        diagnostics,
    }
}

fn analyze(
    source: &Arc<SourceFile>,
    base_dir: &Path,
    calls: &Calls,
) -> (Option<Workflow>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let parsed = match parse(source) {
        Ok(parsed) => parsed,
        Err(syntax) => {
            diagnostics.push(syntax);
            return (None, diagnostics);
        }
    };
    diagnostics.extend(parsed.duplicates);
    if is_empty(source) {
        diagnostics.push(
            Diagnostic::new(Span::at(0), "the file is empty; a workflow needs `steps`")
                .with_help("for example: `steps: { hello: { prompt: Say hello. } }`"),
        );
        return (None, diagnostics);
    }
    let mut root = parsed.root;
    let violations = schema::check(&root);
    let structural = !violations.is_empty();
    for violation in violations {
        diagnostics.extend(violation.diagnostic);
        root.remove(&violation.prune);
        if let Some((path, key, value)) = violation.fill {
            root.insert(&path, &key, value);
        }
    }
    drop_extensions(&mut root);
    let raw: RawWorkflow = match from_node(&root) {
        Ok(raw) => raw,
        Err(error) => {
            if !structural {
                let span = error.span.unwrap_or(root.span);
                diagnostics.push(Diagnostic::new(span, error.message));
            }
            return (None, diagnostics);
        }
    };
    let cx = Context {
        source,
        root: &root,
        base_dir,
        calls,
    };
    let mut workflow = lower(raw, &cx, &mut diagnostics);
    workflow.templates = templates::load(&workflow, &mut diagnostics);
    validate(&workflow, &mut diagnostics);
    (Some(workflow), diagnostics)
}

/// Top-level `x-…` keys are the file's own (anchors to reuse, notes, as in Compose files):
/// weft reads none of them.
fn drop_extensions(root: &mut Node) {
    if let NodeKind::Map(entries) = &mut root.kind {
        entries.retain(|(key, _)| !key.key_text().starts_with("x-"));
    }
}

/// Whether the file holds nothing but blank lines, comments and document markers.
fn is_empty(source: &SourceFile) -> bool {
    source.text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}
