//! Diagnostics: a span in a workflow file (or in a file it reads: a prompt file, an
//! included template, a called workflow), a one-sentence message, an optional fix,
//! rendered as text (`file:line:col`, the line, a caret) or as JSON.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::source::{SourceFile, Span};

/// How bad a diagnostic is: an error makes the file invalid; a warning does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is invalid.
    #[default]
    Error,
    /// Likely a mistake; the file is still valid.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem in a workflow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file `span` is in, when it is not the workflow file being checked (a prompt
    /// file, an included template, a called workflow).
    pub file: Option<InFile>,
    /// Where the problem is.
    pub span: Span,
    /// What is wrong: one lowercase sentence, names in backticks, no trailing period.
    pub message: String,
    /// How to fix it, when that takes more than the message says.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: None,
            span,
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::new(span, message)
        }
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Add a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The same diagnostic, located in `file` (unless it already names its file).
    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file.get_or_insert_with(|| InFile(Arc::clone(file)));
        self
    }

    /// [`Diagnostic::in_file`] for a diagnostic of a called workflow (`scope` not 0).
    pub fn in_file_unless_top(self, scope: usize, file: &Arc<SourceFile>) -> Self {
        if scope == 0 { self } else { self.in_file(file) }
    }

    /// The file the span is in: its own, else `default`.
    pub fn source<'a>(&'a self, default: &'a SourceFile) -> &'a SourceFile {
        self.file.as_ref().map_or(default, |f| &f.0)
    }

    /// Render as text against its file (`default` unless it names one): the message,
    /// `--> file:line:col`, the line and a caret.
    pub fn render(&self, default: &SourceFile) -> String {
        let file = self.source(default);
        let start = file.position(self.span.start);
        let line_index = file.line_index(self.span.start);
        let line = file.line_text(line_index);
        let number = start.line.to_string();
        let gutter = " ".repeat(number.len());
        let mut out = String::new();
        let _ = writeln!(out, "{}: {}", self.severity.as_str(), self.message);
        let _ = writeln!(
            out,
            "{gutter}--> {}:{}:{}",
            file.path().display(),
            start.line,
            start.column
        );
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{number} | {line}");
        let _ = writeln!(out, "{gutter} | {}", caret(file, self.span, line));
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{gutter} = help: {help}");
        }
        out
    }

    /// The machine-readable form, positions 1-based.
    pub fn to_json(&self, default: &SourceFile) -> JsonDiagnostic {
        let file = self.source(default);
        let start = file.position(self.span.start);
        let end = file.position(self.span.end);
        JsonDiagnostic {
            severity: self.severity,
            file: file.path().display().to_string(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            message: self.message.clone(),
            help: self.help.clone(),
        }
    }
}

/// A file a diagnostic is in, compared by path (the same file read twice is one file).
#[derive(Debug, Clone)]
pub struct InFile(pub Arc<SourceFile>);

impl PartialEq for InFile {
    fn eq(&self, other: &Self) -> bool {
        self.0.path == other.0.path
    }
}

impl Eq for InFile {}

/// The caret line under `line`: the indentation copied (tabs kept), then `^` per character.
fn caret(file: &SourceFile, span: Span, line: &str) -> String {
    let line_start = file.line_range(file.line_index(span.start)).start;
    let start = file.clamp(span.start) - line_start;
    let end = file
        .clamp(span.end)
        .saturating_sub(line_start)
        .min(line.len());
    let start = start.min(line.len());
    let pad: String = line[..start]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let width = if end > start {
        line[start..end].chars().count()
    } else {
        1
    };
    format!("{pad}{}", "^".repeat(width.max(1)))
}

/// A diagnostic as `weft validate --format json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JsonDiagnostic {
    /// `error` or `warning`.
    pub severity: Severity,
    /// The workflow file.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start, in characters.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end (exclusive).
    pub end_column: usize,
    /// The message.
    pub message: String,
    /// The fix, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// The diagnostics of one file, in source order once sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Add one made of a span and a message.
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(Diagnostic::new(span, message));
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// How many errors.
    pub fn errors(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    /// How many warnings.
    pub fn warnings(&self) -> usize {
        self.0.len() - self.errors()
    }

    /// Sort by file (the checked file first), then position, and drop exact duplicates.
    pub fn sort(&mut self) {
        let key = |d: &Diagnostic| d.file.as_ref().map(|f| f.0.path.clone());
        self.0
            .sort_by(|a, b| (key(a), a.span, &a.message).cmp(&(key(b), b.span, &b.message)));
        self.0.dedup();
    }

    /// Locate every diagnostic that names no file in `file`.
    pub fn in_file(self, file: &Arc<SourceFile>) -> Diagnostics {
        Diagnostics(self.0.into_iter().map(|d| d.in_file(file)).collect())
    }

    /// Render them all, separated by blank lines.
    pub fn render(&self, file: &SourceFile) -> String {
        let parts: Vec<String> = self.0.iter().map(|d| d.render(file)).collect();
        parts.join("\n")
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// `; did you mean `x`?` when one of `candidates` is close to `name`, else nothing.
///
/// Close means at most one edit (a typo, a swapped pair, a missing letter) per three
/// characters of `name`: `lenght` → `length`, but never `bash` → `as` (nor `c` → `b`).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(name, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// The candidate closest to `name`, when it is close enough to be a typo of it.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = name.chars().count() / 3;
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::osa_distance(&lower, &c.to_lowercase()), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                strsim::jaro_winkler(name, b.1).total_cmp(&strsim::jaro_winkler(name, a.1))
            })
        })
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let file = SourceFile::new("w.yaml", "steps:\n  a:\n    promt: hi\n");
        let d = Diagnostic::new(
            Span::new(16, 21),
            "unknown key `promt`; did you mean `prompt`?",
        );
        assert_eq!(
            d.render(&file),
            "error: unknown key `promt`; did you mean `prompt`?\n --> w.yaml:3:5\n  |\n3 |     promt: hi\n  |     ^^^^^\n"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            suggest("promt", ["prompt", "needs"]),
            "; did you mean `prompt`?"
        );
        assert_eq!(suggest("zzz", ["prompt", "needs"]), "");
        assert_eq!(suggest("bash", ["as", "if", "needs"]), "");
        assert_eq!(
            suggest("lenght", ["length", "list"]),
            "; did you mean `length`?"
        );
        assert_eq!(suggest("sruvey", ["survey"]), "; did you mean `survey`?");
    }
}
