//! What a template or expression reads: compile it, list its undeclared variables as
//! dotted paths (`steps.survey.output`), and locate each in the workflow file, so that
//! errors point into the template at the right line.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use minijinja::Environment;

use super::diagnostic::Diagnostic;
use super::model::{Step, ThreadRef, Until, WithValue};
use super::source::{SourceFile, Span};
use super::spanned::Spanned;
use super::templates::TemplateFiles;

/// Whether the text is a template (`{{ … }}`) or a bare expression (`if`, `for_each`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A template.
    Template,
    /// An expression.
    Expression,
}

/// One variable path a template reads, and where.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The dotted path, split: `["steps", "survey", "output"]`.
    pub path: Vec<String>,
    /// Where it is written, in the template's file (or in `file`).
    pub span: Span,
    /// The template file it is read in, when that is an included one.
    pub file: Option<Arc<SourceFile>>,
}

/// The names every template can read: a reference to one of them inside an included
/// file is checked like one in the template itself. (Other names there may be the
/// including template's own variables: the type-check sees those.)
pub const GLOBALS: &[&str] = &["inputs", "steps", "workflow", "run", "env"];

/// [`analyze`], and for a template also what the files it includes read (of the
/// [`GLOBALS`]), located in those files.
pub fn analyze_with(
    env: &Environment<'static>,
    file: &SourceFile,
    code: &Spanned<String>,
    kind: Kind,
    templates: &TemplateFiles,
) -> Result<Vec<Reference>, Diagnostic> {
    let mut references = analyze(env, file, code, kind)?;
    if kind == Kind::Template {
        for name in templates.reachable(&code.value) {
            let Some(included) = templates.get(&name) else {
                continue;
            };
            let whole = Spanned::new(included.text.clone(), Span::new(0, included.text.len()));
            let found = analyze(env, included, &whole, Kind::Template).unwrap_or_default();
            references.extend(
                found
                    .into_iter()
                    .filter(|r| GLOBALS.contains(&r.path[0].as_str()))
                    .map(|r| Reference {
                        file: Some(included.clone()),
                        ..r
                    }),
            );
        }
    }
    Ok(references)
}

/// Compile `code` and list what it reads; a syntax error comes back located.
pub fn analyze(
    env: &Environment<'static>,
    file: &SourceFile,
    code: &Spanned<String>,
    kind: Kind,
) -> Result<Vec<Reference>, Diagnostic> {
    let text = code.value.as_str();
    let variables = match kind {
        Kind::Template => env
            .template_from_str(text)
            .map(|t| t.undeclared_variables(true)),
        Kind::Expression => env
            .compile_expression(text)
            .map(|e| e.undeclared_variables(true)),
    };
    let variables = variables.map_err(|error| {
        let range = error.range().unwrap_or(0..0);
        let span = locate(file, code.span, text, range);
        let detail = error.detail().unwrap_or("invalid syntax").to_string();
        Diagnostic::new(span, detail)
    })?;
    let mut paths: BTreeSet<Vec<String>> = variables
        .iter()
        .map(|v| v.split('.').map(str::to_string).collect())
        .collect();
    if paths.iter().any(|p| p.len() == 1 && p[0] == "steps") {
        let subscripts = subscripted_steps(text);
        if !subscripts.is_empty() {
            paths.retain(|p| !(p.len() == 1 && p[0] == "steps"));
            paths.extend(subscripts.into_iter().map(|id| vec!["steps".into(), id]));
        }
    }
    Ok(paths
        .into_iter()
        .map(|path| {
            let span = find(file, code.span, text, &path);
            Reference {
                path,
                span,
                file: None,
            }
        })
        .collect())
}

/// Step ids read as `steps["id"]` or `steps['id']`.
fn subscripted_steps(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("steps[") {
        rest = &rest[i + 6..];
        let trimmed = rest.trim_start();
        let Some(quote) = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = trimmed[1..].find(quote) {
            out.push(trimmed[1..1 + end].to_string());
        }
    }
    out
}

/// Where `path` is written inside `code`: the dotted text, else its subscript, else its root.
fn find(file: &SourceFile, span: Span, text: &str, path: &[String]) -> Span {
    let dotted = path.join(".");
    let candidates = [
        dotted.clone(),
        path.iter().take(2).cloned().collect::<Vec<_>>().join("."),
        path.get(1).cloned().unwrap_or_default(),
        path[0].clone(),
    ];
    for needle in candidates.iter().filter(|n| !n.is_empty()) {
        if let Some(at) = find_word(text, needle) {
            let located = locate(file, span, text, at..at + needle.len());
            let width = located.end - located.start;
            return Span::new(located.start, located.start + width.min(dotted.len()));
        }
    }
    span
}

/// The first occurrence of `needle` not inside a longer identifier.
fn find_word(text: &str, needle: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
    })
}

/// Map `range` of the parsed value `text` (written at `span`) back to the file: find the
/// same occurrence of that text inside the span, else map lines (block scalars) or offsets.
pub fn locate(file: &SourceFile, span: Span, text: &str, range: Range<usize>) -> Span {
    let start = range.start.min(text.len());
    let end = range.end.clamp(start, text.len());
    let raw = &file.text[file.clamp(span.start)..file.clamp(span.end)];
    let needle = text.get(start..end).unwrap_or("");
    if !needle.is_empty() && !needle.contains('\n') {
        let nth = text
            .get(..start)
            .map_or(0, |before| before.matches(needle).count());
        if let Some((at, _)) = raw.match_indices(needle).nth(nth) {
            let at = span.start + at;
            return Span::new(at, at + needle.len());
        }
    }
    let before = text.get(..start).unwrap_or("");
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    let quoted = raw.starts_with(['"', '\'']);
    let first = file.line_index(span.start);
    let first_col = file.position(span.start).column - 1;
    let at = if line == 0 {
        file.offset_of(first, first_col + col + usize::from(quoted))
    } else {
        file.offset_of(first + line, first_col + col)
    };
    let at = at.clamp(span.start, span.end.max(span.start));
    Span::new(at, (at + 1).min(span.end.max(at + 1)))
}

/// Every template and expression of a step, with its kind and role in messages: the
/// prompt, `if`, `for_each`, `fail_if`, `resume`, a gate's question, the values of `env`,
/// and a loop's `until`. (`run` and `until_run` are scripts, never templates.)
pub fn step_code(step: &Step) -> Vec<(&'static str, &Spanned<String>, Kind)> {
    let mut code = vec![("prompt", &step.prompt, Kind::Template)];
    if let Some(gate) = step.kind.gate() {
        code.push(("gate", &gate.question, Kind::Template));
    }
    for (_, value) in &step.env {
        code.push(("env", value, Kind::Template));
    }
    if let Some(Until::Expression(e)) = step.looping.as_ref().map(|l| &l.until) {
        code.push(("until", e, Kind::Expression));
    }
    if let Some(e) = &step.if_expr {
        code.push(("if", e, Kind::Expression));
    }
    if let Some(e) = &step.for_each {
        code.push(("for_each", e, Kind::Expression));
    }
    if let Some(e) = &step.fail_if {
        code.push(("fail_if", e, Kind::Expression));
    }
    if let ThreadRef::Resume(t) = &step.thread {
        code.push(("resume", t, Kind::Template));
    }
    if let Some(call) = &step.call {
        for (_, value) in &call.with {
            if let WithValue::Template(t) = value {
                code.push(("with", t, Kind::Template));
            }
        }
    }
    code
}

/// The step ids a step's templates and expressions read (`steps.<id>`, also in the files
/// they include), with their spans; code that does not compile contributes nothing.
pub fn step_references(
    env: &Environment<'static>,
    workflow: &super::model::Workflow,
    step: &Step,
) -> Vec<Spanned<String>> {
    let mut out: Vec<Spanned<String>> = Vec::new();
    for (role, code, kind) in step_code(step) {
        let file = step.file_of(role, workflow);
        let elsewhere = !Arc::ptr_eq(file, &workflow.source);
        let found = analyze_with(env, file, code, kind, &workflow.templates).unwrap_or_default();
        for mut reference in found {
            if elsewhere || reference.file.is_some() {
                reference.span = step.id.span;
            }
            if reference.path.len() >= 2 && reference.path[0] == "steps" {
                out.push(Spanned::new(reference.path[1].clone(), reference.span));
            }
        }
    }
    out
}
