//! The template walker: goes over minijinja's AST statement by statement, keeping the
//! variables a template defines (`{% for %}`, `{% set %}`, `{% with %}`, macros) and the
//! paths a condition has shown to be defined, and collects findings with their ranges.

use std::ops::Range;

use minijinja::machinery::ast::{self, Expr, Stmt};

use super::catalog::Catalog;
use super::scope::{Scope, template_loop};
use super::ty::Type;
use crate::workflow::Severity;

/// One problem found in a template, located by byte range in the template's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where, in the template's text.
    pub range: Range<usize>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The included template it is in (its `range` is then in that file's text).
    pub template: Option<String>,
}

/// Types one template or expression against a scope.
pub struct Checker<'a> {
    pub(super) catalog: &'a Catalog<'a>,
    pub(super) scope: &'a Scope,
    pub(super) text: &'a str,
    pub(super) locals: Vec<(String, Type)>,
    pub(super) guards: Vec<String>,
    /// What was found.
    pub findings: Vec<Finding>,
    /// Whether it read a value of unknown type, or an element by its index: a render with
    /// sample values proves nothing then.
    pub read_unknown: bool,
    /// The workflow's secrets as templates read them (`inputs.token`), for the lint of
    /// what templates do with them.
    pub secrets: Vec<String>,
    /// The template files being walked (an included file's checker), outermost first.
    pub(super) including: Vec<String>,
}

impl<'a> Checker<'a> {
    /// A checker of `text` (a template or an expression) against `scope`.
    pub fn new(catalog: &'a Catalog<'a>, scope: &'a Scope, text: &'a str) -> Self {
        Checker {
            catalog,
            scope,
            text,
            locals: Vec::new(),
            guards: Vec::new(),
            findings: Vec::new(),
            read_unknown: false,
            secrets: Vec::new(),
            including: Vec::new(),
        }
    }

    /// Whether an error was found.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub(super) fn error(&mut self, range: Range<usize>, message: String, help: Option<String>) {
        self.findings.push(Finding {
            range,
            severity: Severity::Error,
            message,
            help,
            template: None,
        });
    }

    pub(super) fn warn(&mut self, range: Range<usize>, message: String, help: Option<String>) {
        self.findings.push(Finding {
            range,
            severity: Severity::Warning,
            message,
            help,
            template: None,
        });
    }

    /// Check a whole template.
    pub fn template(&mut self, root: &Stmt<'_>) {
        self.stmt(root);
    }

    fn body(&mut self, body: &[Stmt<'_>]) {
        let mark = self.locals.len();
        for stmt in body {
            self.stmt(stmt);
        }
        self.locals.truncate(mark);
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        match stmt {
            Stmt::Template(t) => self.body(&t.children),
            Stmt::EmitExpr(e) => {
                self.expr(&e.expr);
            }
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => self.for_loop(f),
            Stmt::IfCond(c) => {
                self.expr(&c.expr);
                let guards = self.defined_paths(&c.expr);
                self.guarded(guards, |this| this.body(&c.true_body));
                self.body(&c.false_body);
            }
            Stmt::WithBlock(w) => self.with_block(w),
            Stmt::Set(s) => {
                let ty = self.expr(&s.expr);
                self.bind(&s.target, ty);
            }
            Stmt::SetBlock(s) => {
                self.body(&s.body);
                if let Some(filter) = &s.filter {
                    self.expr(filter);
                }
                self.bind(&s.target, Type::String);
            }
            Stmt::AutoEscape(a) => self.body(&a.body),
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter);
                self.body(&f.body);
            }
            Stmt::Block(b) => self.body(&b.body),
            Stmt::Include(i) => self.include(&i.name, i.ignore_missing),
            Stmt::Extends(e) => self.include(&e.name, false),
            Stmt::Import(i) => {
                self.include(&i.expr, false);
                self.bind(&i.name, Type::Unknown);
            }
            Stmt::FromImport(i) => self.import_names(i),
            Stmt::Macro(m) => self.macro_decl(m),
            Stmt::CallBlock(c) => {
                self.call(&c.call);
                self.macro_decl(&c.macro_decl);
            }
            Stmt::Do(d) => {
                self.call(&d.call);
            }
        }
    }

    fn with_block(&mut self, w: &ast::WithBlock<'_>) {
        let mark = self.locals.len();
        for (target, value) in &w.assignments {
            let ty = self.expr(value);
            self.bind(target, ty);
        }
        self.body(&w.body);
        self.locals.truncate(mark);
    }

    fn import_names(&mut self, i: &ast::FromImport<'_>) {
        self.include(&i.expr, false);
        for (name, alias) in &i.names {
            self.bind(alias.as_ref().unwrap_or(name), Type::Unknown);
        }
    }

    fn for_loop(&mut self, f: &ast::ForLoop<'_>) {
        let iterated = self.expr(&f.iter);
        let element = self.iterate(&f.iter, &iterated, "`{% for %}`");
        let mark = self.locals.len();
        self.bind(&f.target, element);
        self.locals.push(("loop".into(), template_loop()));
        if let Some(filter) = &f.filter_expr {
            self.expr(filter);
        }
        self.body(&f.body);
        self.locals.truncate(mark);
        self.body(&f.else_body);
    }

    /// The element type of iterating `expr` (of type `ty`) in `what`; an error when it
    /// is not a list (a mapping iterates its keys; a string would go over characters).
    pub(super) fn iterate(&mut self, expr: &Expr<'_>, ty: &Type, what: &str) -> Type {
        if let Some(element) = ty.element() {
            return element;
        }
        let non_null = ty.non_null();
        if matches!(non_null, Type::Object(_)) && what == "`{% for %}`" {
            return Type::String;
        }
        let text = self.src(expr).to_string();
        let help = match (non_null, what == "`{% for %}`") {
            (Type::String, true) => Some(format!(
                "it would go through `{text}` character by character; split it into a list: `{text} | split(',')`"
            )),
            (Type::String, false) => Some(format!(
                "split it into a list (`{text} | split(',')`), or declare an array"
            )),
            _ => None,
        };
        self.error(
            self.range(expr),
            format!("{what} needs an array, but `{text}` is {}", ty.describe()),
            help,
        );
        Type::Unknown
    }

    fn include(&mut self, name: &Expr<'_>, ignore_missing: bool) {
        self.expr(name);
        let Expr::Const(c) = name else { return };
        let Some(file) = c.value.as_str() else { return };
        if !ignore_missing && !self.catalog.template(file) {
            self.error(
                self.range(name),
                format!("included template `{file}` does not exist"),
                None,
            );
            return;
        }
        self.walk_included(file);
    }

    /// Types the template file `name` as it is included here: with this scope and the
    /// variables defined so far; its findings are located in that file.
    fn walk_included(&mut self, name: &str) {
        if self.including.iter().any(|n| n == name) || self.including.len() > 16 {
            return;
        }
        let Some(text) = self.catalog.template_text(name) else {
            return;
        };
        let syntax = self.catalog.env().syntax().clone();
        let Ok(root) = minijinja::machinery::parse(text, name, syntax) else {
            return;
        };
        let mut inner = Checker::new(self.catalog, self.scope, text);
        inner.locals = self.locals.clone();
        inner.guards = self.guards.clone();
        inner.including = self.including.clone();
        inner.including.push(name.to_string());
        inner.template(&root);
        self.read_unknown |= inner.read_unknown;
        for mut finding in inner.findings {
            finding.template.get_or_insert_with(|| name.to_string());
            self.findings.push(finding);
        }
    }

    fn macro_decl(&mut self, m: &ast::Macro<'_>) {
        let mark = self.locals.len();
        for arg in &m.args {
            self.bind(arg, Type::Unknown);
        }
        for default in &m.defaults {
            self.expr(default);
        }
        for name in ["caller", "varargs", "kwargs"] {
            self.locals.push((name.into(), Type::Unknown));
        }
        self.body(&m.body);
        self.locals.truncate(mark);
        self.locals.push((m.name.to_string(), Type::Unknown));
    }

    /// Bind the names of an assignment target (`x`, `a, b`) to `ty`.
    fn bind(&mut self, target: &Expr<'_>, ty: Type) {
        match target {
            Expr::Var(v) => self.locals.push((v.id.to_string(), ty)),
            Expr::List(l) => {
                for item in &l.items {
                    self.bind(item, Type::Unknown);
                }
            }
            Expr::Tuple(t) => {
                for item in &t.items {
                    self.bind(item, Type::Unknown);
                }
            }
            _ => {}
        }
    }

    /// Run `f` with `paths` known to be defined.
    pub(super) fn guarded<T>(&mut self, paths: Vec<String>, f: impl FnOnce(&mut Self) -> T) -> T {
        let mark = self.guards.len();
        self.guards.extend(paths);
        let out = f(self);
        self.guards.truncate(mark);
        out
    }

    /// The paths `cond` shows to be defined when it is true: `x is defined`, joined by `and`.
    pub(super) fn defined_paths(&self, cond: &Expr<'_>) -> Vec<String> {
        match cond {
            Expr::Test(t) if t.name == "defined" => vec![self.key(&t.expr)],
            Expr::BinOp(b) if matches!(b.op, ast::BinOpKind::ScAnd) => {
                let mut paths = self.defined_paths(&b.left);
                paths.extend(self.defined_paths(&b.right));
                paths
            }
            _ => Vec::new(),
        }
    }

    /// The byte range an expression covers in the text (from its leftmost part).
    pub(super) fn range(&self, e: &Expr<'_>) -> Range<usize> {
        let span = e.span();
        let end = span.end_offset as usize;
        let start = match e {
            Expr::GetAttr(g) => self.range(&g.expr).start,
            Expr::GetItem(g) => self.range(&g.expr).start,
            Expr::Slice(s) => self.range(&s.expr).start,
            Expr::Call(c) => self.range(&c.expr).start,
            Expr::Filter(f) => f
                .expr
                .as_ref()
                .map_or(span.start_offset as usize, |x| self.range(x).start),
            Expr::Test(t) => self.range(&t.expr).start,
            Expr::BinOp(b) => self.range(&b.left).start,
            Expr::Compare(c) => self.range(&c.expr).start,
            _ => span.start_offset as usize,
        };
        let end = end.min(self.text.len());
        start.min(end)..end
    }

    /// The text of an expression as written.
    pub(super) fn src(&self, e: &Expr<'_>) -> &'a str {
        let range = self.range(e);
        self.text.get(range).unwrap_or("")
    }

    /// An expression's text without whitespace, to recognise the same path twice.
    pub(super) fn key(&self, e: &Expr<'_>) -> String {
        self.src(e).chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// The type of local or root variable `name`.
    pub(super) fn variable(&self, name: &str) -> Option<Type> {
        self.locals
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .or_else(|| self.scope.get(name).cloned())
    }
}
