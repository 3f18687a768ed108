//! The type-check of a loaded workflow: every template and expression is typed against
//! what its context holds, then (when the types found nothing and knew every value it
//! read) rendered once with sample values, as the engine would render it. Findings come
//! back as diagnostics located in the workflow file.

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
use crate::workflow::refs::Kind;
use crate::workflow::{Diagnostic, Diagnostics, Spanned, Step, ThreadRef, Until, Workflow};

/// Type-check and render-check every template of `workflow` against the environment the
/// engine renders with; also lint output schemas for OpenAI's strict mode.
pub fn check(workflow: &Workflow, env: &Environment<'static>) -> Diagnostics {
    let catalog = Catalog::new(env);
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
    strict::lint(workflow, &mut run.out);
    run.out.sort();
    run.out
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
        }
    }
}

/// What checking a site gave: its type (an expression's; a `for_each`'s element type)
/// and its sample value when the render succeeded.
struct Checked {
    ty: Type,
    value: Option<Value>,
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
        let what = format!("`prompt` of step `{id}`");
        let site = Site::new(
            &what,
            &step.prompt,
            Kind::Template,
            &prompt_scope,
            &prompt_context,
        );
        self.site(&site, false);
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

    /// Type `site`, report what is wrong, and render it once when that can prove more.
    /// `iterated`: the site is a `for_each`; its checked type is the element type.
    fn site(&mut self, site: &Site<'_>, iterated: bool) -> Checked {
        let text = site.code.value.as_str();
        let map = || ScalarMap::new(&self.workflow.source, site.code.span, text);
        let mut checker = Checker::new(self.catalog, site.scope, text);
        checker.secrets = self.workflow.secret_paths();
        let ty = match site.kind {
            Kind::Template => {
                let syntax = self.catalog.env().syntax().clone();
                let Ok(root) = machinery::parse(text, "template", syntax) else {
                    return Checked {
                        ty: Type::Unknown,
                        value: None,
                    };
                };
                checker.template(&root);
                Type::String
            }
            Kind::Expression => {
                let Ok(expr) = machinery::parse_expr(text) else {
                    return Checked {
                        ty: Type::Unknown,
                        value: None,
                    };
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
        if !checker.findings.is_empty() {
            let map = map();
            for finding in std::mem::take(&mut checker.findings) {
                self.out.push(diagnostic(&map, finding));
            }
        }
        if !clean {
            return Checked { ty, value: None };
        }
        match render::render(self.catalog.env(), text, site.kind, site.context) {
            Ok(value) => Checked {
                ty,
                value: Some(value),
            },
            Err(mut finding) => {
                finding.message = format!("{} fails to render: {}", site.what, finding.message);
                finding.help = Some("found by rendering it with sample values: input defaults, and values that fit the upstream output schemas".into());
                self.out.push(diagnostic(&map(), finding));
                Checked { ty, value: None }
            }
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

/// A finding as a diagnostic in the workflow file.
fn diagnostic(map: &ScalarMap, finding: Finding) -> Diagnostic {
    let mut d = Diagnostic::new(map.span(finding.range), finding.message);
    d.severity = finding.severity;
    d.help = finding.help;
    d
}
