//! Template files: what the workflow's templates `{% include %}`, `{% import %}`, `{% from
//! … import %}` or `{% extends %}` by a constant name, read (under the workflow file's
//! directory only) and compiled when the workflow is checked. A file that is missing,
//! outside the directory or does not compile is an error located at the name that reads
//! it, or in the file itself at its line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::machinery::{self, ast};

use super::compose::shown;
use super::diagnostic::{Diagnostic, Diagnostics};
use super::model::Workflow;
use super::refs::{self, Kind};
use super::source::{SourceFile, Span};
use super::spanned::Spanned;
use crate::template::{TemplateFileError, TemplateSource, read_template};

/// The template files of one workflow file, by name (relative to its directory).
#[derive(Debug, Clone, Default)]
pub struct TemplateFiles {
    /// The directory names are relative to.
    pub root: PathBuf,
    files: BTreeMap<String, Arc<SourceFile>>,
    /// The names each file includes (directly).
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl TemplateFiles {
    /// The file `name`, when it was read.
    pub fn get(&self, name: &str) -> Option<&Arc<SourceFile>> {
        self.files.get(name)
    }

    /// Every file, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<SourceFile>)> {
        self.files.iter()
    }

    /// What the engine renders with: the root and each file's text.
    pub fn source(&self) -> TemplateSource {
        TemplateSource {
            root: self.root.clone(),
            files: self
                .files
                .iter()
                .map(|(n, f)| (n.clone(), f.text.clone()))
                .collect(),
        }
    }

    /// The files a template reads, directly or through the files it reads, by name.
    pub fn reachable(&self, template: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        if self.files.is_empty() {
            return seen;
        }
        let mut todo: Vec<String> = included(template).into_iter().map(|(n, _)| n).collect();
        while let Some(name) = todo.pop() {
            if self.files.contains_key(&name) && seen.insert(name.clone()) {
                todo.extend(self.edges.get(&name).into_iter().flatten().cloned());
            }
        }
        seen
    }
}

/// Reads every template file the templates of `workflow` name, each once.
pub fn load(workflow: &Workflow, out: &mut Diagnostics) -> TemplateFiles {
    let mut loader = Loader {
        workflow,
        files: TemplateFiles {
            root: workflow.base_dir.clone(),
            ..TemplateFiles::default()
        },
        out,
    };
    for (file, code) in sites(workflow) {
        loader.site(&file, code);
    }
    loader.files
}

/// Every template of a workflow (not expressions: they cannot include) and its file.
fn sites(workflow: &Workflow) -> Vec<(Arc<SourceFile>, &Spanned<String>)> {
    let mut out = Vec::new();
    for step in &workflow.steps {
        for (role, code, kind) in refs::step_code(step) {
            if kind == Kind::Template {
                out.push((step.file_of(role, workflow).clone(), code));
            }
        }
    }
    for output in &workflow.outputs {
        out.push((workflow.source.clone(), &output.template));
    }
    out
}

struct Loader<'a> {
    workflow: &'a Workflow,
    files: TemplateFiles,
    out: &'a mut Diagnostics,
}

impl Loader<'_> {
    /// The files one template site reads (its syntax errors are the validator's to report).
    fn site(&mut self, file: &Arc<SourceFile>, code: &Spanned<String>) {
        for (name, range) in included(&code.value) {
            if self.files.files.contains_key(&name) {
                continue;
            }
            let at = refs::locate(file, code.span, &code.value, range);
            let problem = self.read(&name, &mut vec![name.clone()]);
            if let Some(message) = problem {
                let d = Diagnostic::new(at, message);
                let d = if Arc::ptr_eq(file, &self.workflow.source) {
                    d
                } else {
                    d.in_file(file)
                };
                self.out.push(d);
            }
        }
    }

    /// Reads file `name` and what it includes; the problem with `name` itself, if any.
    fn read(&mut self, name: &str, chain: &mut Vec<String>) -> Option<String> {
        let root = &self.workflow.base_dir;
        let text = match read_template(root, name) {
            Ok(text) => text,
            Err(TemplateFileError::Missing) => {
                return Some(format!(
                    "included template `{name}` does not exist (looked for `{}`)",
                    shown(root, name).display()
                ));
            }
            Err(other) => return Some(other.to_string()),
        };
        let source = Arc::new(SourceFile::new(shown(root, name), text));
        self.files.files.insert(name.to_string(), source.clone());
        let syntax = crate::template::environment().syntax().clone();
        if let Err(error) = machinery::parse(&source.text, name, syntax) {
            let range = error.range().unwrap_or(0..0);
            let detail = error.detail().unwrap_or("invalid syntax");
            let span = Span::new(range.start, range.end.max(range.start + 1));
            self.out.push(
                Diagnostic::new(span, format!("syntax error in template `{name}`: {detail}"))
                    .in_file(&source),
            );
            return None;
        }
        for (inner, range) in included(&source.text) {
            self.files
                .edges
                .entry(name.to_string())
                .or_default()
                .insert(inner.clone());
            let span = Span::new(range.start, range.end);
            if chain.contains(&inner) {
                let mut names: Vec<String> = chain.iter().map(|n| format!("`{n}`")).collect();
                names.push(format!("`{inner}`"));
                self.out.push(
                    Diagnostic::new(
                        span,
                        format!("template `{inner}` includes itself: {}", names.join(" → ")),
                    )
                    .in_file(&source),
                );
                continue;
            }
            if self.files.files.contains_key(&inner) {
                continue;
            }
            chain.push(inner.clone());
            let problem = self.read(&inner, chain);
            chain.pop();
            if let Some(message) = problem {
                self.out
                    .push(Diagnostic::new(span, message).in_file(&source));
            }
        }
        None
    }
}

/// The constant names a template includes, imports or extends, with their ranges in it.
pub fn included(template: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let reads_files = ["include", "import", "extends"]
        .iter()
        .any(|word| template.contains(word));
    if !template.contains("{%") || !reads_files {
        return Vec::new();
    }
    let syntax = crate::template::environment().syntax().clone();
    let Ok(root) = machinery::parse(template, "template", syntax) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect(&root, &mut out);
    out
}

fn collect(stmt: &ast::Stmt<'_>, out: &mut Vec<(String, std::ops::Range<usize>)>) {
    use ast::Stmt;
    let mut name = |expr: &ast::Expr<'_>| {
        if let ast::Expr::Const(c) = expr {
            if let Some(text) = c.value.as_str() {
                let span = expr.span();
                out.push((
                    text.to_string(),
                    span.start_offset as usize..span.end_offset as usize,
                ));
            }
        }
    };
    match stmt {
        Stmt::Include(i) => name(&i.name),
        Stmt::Import(i) => name(&i.expr),
        Stmt::FromImport(i) => name(&i.expr),
        Stmt::Extends(e) => name(&e.name),
        _ => {}
    }
    for body in bodies(stmt) {
        for child in body {
            collect(child, out);
        }
    }
}

/// The statement lists inside a statement.
fn bodies<'a>(stmt: &'a ast::Stmt<'a>) -> Vec<&'a [ast::Stmt<'a>]> {
    use ast::Stmt;
    match stmt {
        Stmt::Template(t) => vec![&t.children],
        Stmt::ForLoop(f) => vec![&f.body, &f.else_body],
        Stmt::IfCond(c) => vec![&c.true_body, &c.false_body],
        Stmt::WithBlock(w) => vec![&w.body],
        Stmt::SetBlock(s) => vec![&s.body],
        Stmt::AutoEscape(a) => vec![&a.body],
        Stmt::FilterBlock(f) => vec![&f.body],
        Stmt::Block(b) => vec![&b.body],
        Stmt::Macro(m) => vec![&m.body],
        Stmt::CallBlock(c) => vec![&c.macro_decl.body],
        _ => Vec::new(),
    }
}
