//! The type-check of a loaded workflow: every template and expression is typed against
//! what its context holds (through the template files it includes), then (when the types
//! found nothing and knew every value it read) rendered once with sample values, as the
//! engine would render it. Findings come back as diagnostics located in the file they are
//! written in: the workflow, a prompt file, an included template, a called workflow.

use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::machinery;
use minijinja::value::merge_maps;
use minijinja::{Environment, Value as JinjaValue};
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::locate::ScalarMap;
use super::render::{self, jinja};
use super::sample::{self, sample};
use super::scope::{Globals, Scope, conflict_type, fan_out_loop, iteration_type, unit_output_type};
use super::strict;
use super::ty::Type;
use super::walk::{Checker, Finding};
use crate::template::environment_with;
use crate::workflow::refs::Kind;
use crate::workflow::{
    Diagnostic, Diagnostics, SourceFile, Spanned, Step, ThreadRef, Until, WithValue, Workflow,
};

/// Type-check and render-check every template of `workflow` (and of the workflows its
/// steps call) in the environment the engine renders with: weft's template environment
/// (what `env`, the renderer's, is) with each file's template files loaded; also lint
/// output schemas for OpenAI's strict mode.
pub fn check(workflow: &Workflow, _env: &Environment<'static>) -> Diagnostics {
    let mut seen = BTreeSet::new();
    let mut out = check_file(workflow, &mut seen);
    out.sort();
    out
}

/// [`check`] of one file, then of each file it calls that `seen` does not hold yet.
fn check_file(workflow: &Workflow, seen: &mut BTreeSet<std::path::PathBuf>) -> Diagnostics {
    let files = environment_with(Arc::new(workflow.templates.source()));
    let catalog = Catalog::new(&files).with_files(&workflow.templates);
    let globals = Globals::new(workflow);
    let context = jinja(&sample::context(workflow, &globals));
    let mut run = Run {
        workflow,
        catalog: &catalog,
        out: Diagnostics::default(),
    };
    for (index, step) in workflow.steps.iter().enumerate() {
        run.step(index, step, &globals, &context);
    }
    let scope = globals.scope();
    for output in &workflow.outputs {
        let what = format!("output `{}`", output.name.value);
        let site = Site::new(&what, &output.template, Kind::Template, &scope, &context);
        run.site(&site, false);
    }
    for (role, code) in crate::workflow::policy_templates(workflow) {
        let what = format!("`{role}`");
        let site = Site::new(&what, code, Kind::Template, &scope, &context);
        run.policy(&site, role);
    }
    strict::lint(workflow, &mut run.out);
    let mut out = run.out;
    for callee in workflow
        .steps
        .iter()
        .filter_map(|s| s.call.as_ref()?.workflow.clone())
    {
        if seen.insert(callee.path.clone()) {
            out.extend(check_file(&callee, seen).in_file(&callee.source).0);
        }
    }
    out
}

/// One template or expression, and what it is checked against.
struct Site<'a> {
    /// "`prompt` of step `a`", for messages.
    what: &'a str,
    code: &'a Spanned<String>,
    kind: Kind,
    scope: &'a Scope,
    /// The sample context it is rendered against.
    context: &'a JinjaValue,
    /// The file it is written in, when it is not the workflow file (a prompt file).
    file: Option<&'a Arc<SourceFile>>,
}

impl<'a> Site<'a> {
    fn new(
        what: &'a str,
        code: &'a Spanned<String>,
        kind: Kind,
        scope: &'a Scope,
        context: &'a JinjaValue,
    ) -> Self {
        Site {
            what,
            code,
            kind,
            scope,
            context,
            file: None,
        }
    }
}

/// What checking a site gave: its type (an expression's; a `for_each`'s element type),
/// its sample value when the render succeeded, and for a template that is one
/// `{{ expression }}`, that expression's type.
struct Checked {
    ty: Type,
    value: Option<Value>,
    lone: Option<Type>,
}

impl Checked {
    fn nothing() -> Self {
        Checked {
            ty: Type::Unknown,
            value: None,
            lone: None,
        }
    }
}

struct Run<'a> {
    workflow: &'a Workflow,
    catalog: &'a Catalog<'a>,
    out: Diagnostics,
}

impl Run<'_> {
    fn step(&mut self, index: usize, step: &Step, globals: &Globals, context: &JinjaValue) {
        let id = &step.id.value;
        let base = globals.scope();
        let (prompt_scope, prompt_context) = match &step.for_each {
            Some(code) => self.fan_out(step, code, &base, context),
            None => (base.clone(), context.clone()),
        };
        let (prompt_scope, prompt_context) = match &step.looping {
            Some(_) => iterated(step, prompt_scope, prompt_context),
            None => (prompt_scope, prompt_context),
        };
        let (prompt_scope, prompt_context) = match self.workflow.repair_of(id) {
            Some(_) => {
                let own = jinja(&json!({ "conflict": sample(&conflict_type()) }));
                let scope = prompt_scope.with("conflict", conflict_type());
                (scope, merge_maps([own, prompt_context]))
            }
            None => (prompt_scope, prompt_context),
        };
        self.kind_sites(step, &prompt_scope, &prompt_context);
        if let Some(code) = &step.if_expr {
            let what = format!("`if` of step `{id}`");
            self.site(
                &Site::new(&what, code, Kind::Expression, &base, context),
                false,
            );
        }
        if let Some(call) = &step.call {
            self.call(step, call, &base, context);
        } else {
            let what = format!("`prompt` of step `{id}`");
            let mut site = Site::new(
                &what,
                &step.prompt,
                Kind::Template,
                &prompt_scope,
                &prompt_context,
            );
            site.file = step.prompt_file.as_ref().map(|f| &f.source);
            self.site(&site, false);
        }
        if let Some(code) = &step.fail_if {
            let output = globals.outputs[index].clone();
            let own = jinja(&json!({ "output": sample(&output) }));
            let fail_context = merge_maps([own, context.clone()]);
            let scope = base.clone().with("output", output);
            let what = format!("`fail_if` of step `{id}`");
            self.site(
                &Site::new(&what, code, Kind::Expression, &scope, &fail_context),
                false,
            );
        }
        if let ThreadRef::Resume(code) = &step.thread {
            let what = format!("`resume` of step `{id}`");
            self.site(
                &Site::new(&what, code, Kind::Template, &base, context),
                false,
            );
        }
    }

    /// A gate's question, the values of `env`, and a loop's `until`: in the scope (and
    /// sample context) of the prompt; `until` also reads the iteration's `output`.
    fn kind_sites(&mut self, step: &Step, scope: &Scope, context: &JinjaValue) {
        let id = &step.id.value;
        if let Some(gate) = step.kind.gate() {
            let what = format!("`gate` of step `{id}`");
            let site = Site::new(&what, &gate.question, Kind::Template, scope, context);
            self.site(&site, false);
        }
        for (name, value) in &step.env {
            let what = format!("`env.{}` of step `{id}`", name.value);
            self.site(
                &Site::new(&what, value, Kind::Template, scope, context),
                false,
            );
        }
        if let Some(Until::Expression(code)) = step.looping.as_ref().map(|l| &l.until) {
            let output = unit_output_type(step);
            let own = jinja(&json!({ "output": sample(&output) }));
            let until_context = merge_maps([own, context.clone()]);
            let until_scope = scope.clone().with("output", output);
            let what = format!("`until` of step `{id}`");
            self.site(
                &Site::new(&what, code, Kind::Expression, &until_scope, &until_context),
                false,
            );
        }
    }

    /// Check a `for_each`; the scope and sample context of the step's prompt, which
    /// read its element (`as`) and `loop`.
    fn fan_out(
        &mut self,
        step: &Step,
        code: &Spanned<String>,
        base: &Scope,
        context: &JinjaValue,
    ) -> (Scope, JinjaValue) {
        let what = format!("`for_each` of step `{}`", step.id.value);
        let checked = self.site(
            &Site::new(&what, code, Kind::Expression, base, context),
            true,
        );
        let item = match &checked.value {
            Some(Value::Array(items)) if !items.is_empty() => items[0].clone(),
            _ => sample(&checked.ty),
        };
        let scope = base
            .clone()
            .with(&step.as_name, checked.ty)
            .with("loop", fan_out_loop());
        let extra = json!({
            step.as_name.clone(): item,
            "loop": { "index": 1, "index0": 0, "length": 2, "first": true, "last": false },
        });
        (scope, merge_maps([jinja(&extra), context.clone()]))
    }

    /// The `with` of a step that calls a workflow: each template typed, and a lone
    /// `{{ expression }}` of a known type checked against the input's declared type.
    fn call(
        &mut self,
        step: &Step,
        call: &crate::workflow::Call,
        base: &Scope,
        context: &JinjaValue,
    ) {
        for (name, value) in &call.with {
            let WithValue::Template(code) = value else {
                continue;
            };
            let what = format!("`with.{}` of step `{}`", name.value, step.id.value);
            let checked = self.site(
                &Site::new(&what, code, Kind::Template, base, context),
                false,
            );
            let input = call.workflow.as_ref().and_then(|w| w.input(&name.value));
            if let (Some(input), Some(ty)) = (input, checked.lone) {
                let declared = super::scope::input_type(input.ty, &input.values);
                if !super::compare::may_fit(&ty, &declared) {
                    self.out.push(Diagnostic::new(
                        code.span,
                        format!(
                            "input `{}` of `{}` is {}, and this gives {}",
                            name.value,
                            call.uses.value,
                            declared.describe(),
                            ty.describe()
                        ),
                    ));
                }
            }
        }
    }

    /// A `model` or `effort` template: typed like any template; an `effort` whose values
    /// are known must give efforts only.
    fn policy(&mut self, site: &Site<'_>, role: &str) {
        let checked = self.site(site, false);
        let (Some(Type::Enum(values)), "effort") =
            (checked.lone.as_ref().map(Type::non_null), role)
        else {
            return;
        };
        let wrong: Vec<String> = values
            .iter()
            .filter(|v| v.as_str().and_then(crate::vocab::Effort::parse).is_none())
            .map(|v| format!("`{}`", super::ty::value_text(v)))
            .collect();
        if !wrong.is_empty() {
            self.out.push(
                Diagnostic::new(
                    site.code.span,
                    format!(
                        "`effort` may render to {}, which is not an effort",
                        wrong.join(", ")
                    ),
                )
                .with_help(
                    "an effort is one of `none`, `minimal`, `low`, `medium`, `high`, `xhigh`",
                ),
            );
        }
    }

    /// Type `site`, report what is wrong, and render it once when that can prove more.
    /// `iterated`: the site is a `for_each`; its checked type is the element type.
    fn site(&mut self, site: &Site<'_>, iterated: bool) -> Checked {
        let text = site.code.value.as_str();
        let mut checker = Checker::new(self.catalog, site.scope, text);
        checker.secrets = self.workflow.secret_paths();
        let mut lone = None;
        let ty = match site.kind {
            Kind::Template => {
                let syntax = self.catalog.env().syntax().clone();
                let Ok(root) = machinery::parse(text, "template", syntax) else {
                    return Checked::nothing();
                };
                checker.template(&root);
                lone = lone_expression(text).map(|e| {
                    let mut inner = Checker::new(self.catalog, site.scope, e);
                    machinery::parse_expr(e).map_or(Type::Unknown, |x| inner.expr(&x))
                });
                Type::String
            }
            Kind::Expression => {
                let Ok(expr) = machinery::parse_expr(text) else {
                    return Checked::nothing();
                };
                let ty = checker.expr(&expr);
                if iterated {
                    checker.iterate(&expr, &ty, "`for_each`")
                } else {
                    ty
                }
            }
        };
        let clean = !checker.has_errors() && !checker.read_unknown;
        for finding in std::mem::take(&mut checker.findings) {
            self.report(site, finding);
        }
        let value = if clean { self.render(site) } else { None };
        Checked { ty, value, lone }
    }

    /// Renders `site` once with sample values; its value, or `None` after reporting why
    /// it does not render.
    fn render(&mut self, site: &Site<'_>) -> Option<Value> {
        let text = site.code.value.as_str();
        match render::render(self.catalog.env(), text, site.kind, site.context) {
            Ok(value) => Some(value),
            Err(mut finding) => {
                finding.message = format!("{} fails to render: {}", site.what, finding.message);
                finding.help = Some("found by rendering it with sample values: input defaults, and values that fit the upstream output schemas".into());
                self.report(site, finding);
                None
            }
        }
    }

    /// Reports a finding of `site`, located in the file it is written in.
    fn report(&mut self, site: &Site<'_>, finding: Finding) {
        let file = site.file.unwrap_or(&self.workflow.source);
        let map = ScalarMap::new(file, site.code.span, &site.code.value);
        let d = self.diagnostic(&map, finding);
        self.out.push(match site.file {
            Some(f) => d.in_file(f),
            None => d,
        });
    }

    /// A finding as a diagnostic: in the site's text (`map`), or in the included
    /// template it names.
    fn diagnostic(&self, map: &ScalarMap, finding: Finding) -> Diagnostic {
        let included = finding
            .template
            .as_ref()
            .and_then(|name| self.workflow.templates.get(name));
        let (span, message) = match (included, &finding.template) {
            (Some(_), _) => (
                crate::workflow::Span::new(finding.range.start, finding.range.end),
                finding.message,
            ),
            (None, Some(name)) => (
                map.span(0..usize::MAX),
                format!("{} (in `{name}`)", finding.message),
            ),
            (None, None) => (map.span(finding.range), finding.message),
        };
        let mut d = Diagnostic::new(span, message);
        d.severity = finding.severity;
        d.help = finding.help;
        match included {
            Some(file) => d.in_file(file),
            None => d,
        }
    }
}

/// The scope and sample context of what a `loop` step renders per iteration: with
/// `iteration` (`number`, and the `previous` output, sampled as a value of its type).
fn iterated(step: &Step, scope: Scope, context: JinjaValue) -> (Scope, JinjaValue) {
    let previous = sample(&unit_output_type(step));
    let extra = json!({ "iteration": { "number": 2, "previous": previous } });
    let scope = scope.with("iteration", iteration_type(step));
    (scope, merge_maps([jinja(&extra), context]))
}

/// The expression of a template that is one `{{ expression }}` (which keeps its type
/// where a value is taken: outputs, `with`, `model`, `effort`).
fn lone_expression(template: &str) -> Option<&str> {
    template
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")
        .filter(|inner| !inner.contains("{{") && !inner.contains("}}"))
        .map(str::trim)
}
