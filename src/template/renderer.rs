//! [`Renderer`]: renders the templates and evaluates the expressions of one run, each in
//! the environment of the workflow file it is written in (its template files).

use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{Environment, ErrorKind, Value as JinjaValue};
use serde_json::Value;

use super::environment::{environment, environment_with};
use super::files::TemplateSource;

/// Why a template or expression could not be rendered: minijinja's error, shown as its
/// kind, detail and line.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct TemplateError(#[source] minijinja::Error);

impl TemplateError {
    /// What kind of failure (an undefined name, a syntax error, ...).
    pub fn kind(&self) -> ErrorKind {
        self.0.kind()
    }
}

impl From<minijinja::Error> for TemplateError {
    fn from(error: minijinja::Error) -> Self {
        TemplateError(error)
    }
}

/// Renders templates and evaluates expressions against a JSON context; one per run.
pub struct Renderer {
    env: Environment<'static>,
    /// One environment per workflow file of the run (a sub-workflow's templates include
    /// from its own directory), by scope index; scope 0 is the workflow run.
    scoped: Vec<Environment<'static>>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer without template files (`{% include %}` finds nothing).
    pub fn new() -> Self {
        Self {
            env: environment(),
            scoped: Vec::new(),
        }
    }

    /// A renderer whose scope `i` includes from `sources[i]`.
    pub fn with_sources(sources: Vec<Arc<TemplateSource>>) -> Self {
        Self {
            env: environment(),
            scoped: sources.into_iter().map(environment_with).collect(),
        }
    }

    /// The environment every render of a run uses (its filters, tests and functions).
    pub fn environment(&self) -> &Environment<'static> {
        &self.env
    }

    fn scope(&self, scope: usize) -> &Environment<'static> {
        self.scoped.get(scope).unwrap_or(&self.env)
    }

    /// Renders a template (of the workflow run, scope 0).
    pub fn render(&self, template: &str, context: &Value) -> Result<String, TemplateError> {
        self.render_in(0, template, context)
    }

    /// Renders a template written in the workflow file of scope `scope`.
    pub fn render_in(
        &self,
        scope: usize,
        template: &str,
        context: &Value,
    ) -> Result<String, TemplateError> {
        Ok(self
            .scope(scope)
            .render_str(template, JinjaValue::from(Serde(context)))?)
    }

    /// Evaluates an expression to JSON data.
    pub fn eval(&self, expression: &str, context: &Value) -> Result<Value, TemplateError> {
        let value = self
            .env
            .compile_expression(expression)?
            .eval(JinjaValue::from(Serde(context)))?;
        serde_json::to_value(&value)
            .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()).into())
    }

    /// Evaluates a condition: the expression's truthiness.
    pub fn truthy(&self, expression: &str, context: &Value) -> Result<bool, TemplateError> {
        let value = self
            .env
            .compile_expression(expression)?
            .eval(JinjaValue::from(Serde(context)))?;
        Ok(value.is_true())
    }

    /// Renders a workflow output: a template that is one `{{ expression }}` keeps the
    /// expression's JSON value (a list stays a list); anything else renders to a string.
    pub fn render_value(&self, template: &str, context: &Value) -> Result<Value, TemplateError> {
        self.render_value_in(0, template, context)
    }

    /// [`Renderer::render_value`] of a template written in scope `scope`'s file.
    pub fn render_value_in(
        &self,
        scope: usize,
        template: &str,
        context: &Value,
    ) -> Result<Value, TemplateError> {
        let trimmed = template.trim();
        if let Some(inner) = trimmed
            .strip_prefix("{{")
            .and_then(|s| s.strip_suffix("}}"))
            .filter(|inner| !inner.contains("{{") && !inner.contains("}}"))
        {
            return self.eval(inner.trim(), context);
        }
        self.render_in(scope, template, context).map(Value::String)
    }
}

fn describe(err: &minijinja::Error) -> String {
    let mut text = err.kind().to_string();
    if let Some(detail) = err.detail() {
        text = format!("{text}: {detail}");
    }
    if let Some(line) = err.line() {
        text = format!("{text} (line {line})");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn each_scope_includes_from_its_own_files() {
        let source = |root: &str, text: &str| {
            Arc::new(TemplateSource {
                root: root.into(),
                files: [("part.md".to_string(), text.to_string())].into(),
            })
        };
        let r = Renderer::with_sources(vec![source("/a", "A{{ n }}"), source("/b", "B")]);
        let ctx = json!({"n": 1});
        assert_eq!(
            r.render_in(0, "{% include 'part.md' %}", &ctx).unwrap(),
            "A1"
        );
        assert_eq!(
            r.render_in(1, "{% include 'part.md' %}", &ctx).unwrap(),
            "B"
        );
        let missing = Renderer::new().render("{% include 'part.md' %}", &ctx);
        assert!(missing.unwrap_err().to_string().contains("not found"));
    }

    #[test]
    fn strict_undefined_fails_instead_of_printing_nothing() {
        let env = environment();
        let error = env
            .render_str("{{ inputs.missing }}", Serde(json!({"inputs": {}})))
            .unwrap_err();
        assert_eq!(error.kind(), minijinja::ErrorKind::UndefinedError);
    }

    #[test]
    fn model_output_is_data_never_a_template() {
        let r = Renderer::new();
        let ctx = json!({"steps": {"a": {"output": "{{ 7*7 }} {% if true %}x{% endif %}"}}});
        assert_eq!(
            r.render("got: {{ steps.a.output }}", &ctx).unwrap(),
            "got: {{ 7*7 }} {% if true %}x{% endif %}"
        );
    }

    #[test]
    fn undefined_is_an_error() {
        let r = Renderer::new();
        let err = r
            .render("{{ inputs.nope }}", &json!({"inputs": {}}))
            .unwrap_err();
        assert!(err.to_string().contains("undefined"), "{err}");
    }

    #[test]
    fn single_expression_outputs_keep_their_type() {
        let r = Renderer::new();
        let ctx = json!({"steps": {"plan": {"output": {"files": [1, 2]}}}});
        assert_eq!(
            r.render_value("{{ steps.plan.output.files }}", &ctx)
                .unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            r.render_value("n={{ steps.plan.output.files | length }}", &ctx)
                .unwrap(),
            json!("n=2")
        );
    }

    #[test]
    fn conditions_and_lists() {
        let r = Renderer::new();
        let ctx = json!({"steps": {"plan": {"output": {"files": ["a", "b"]}}}});
        assert!(
            r.truthy("steps.plan.output.files | length > 1", &ctx)
                .unwrap()
        );
        assert_eq!(
            r.eval("steps.plan.output.files", &ctx).unwrap(),
            json!(["a", "b"])
        );
    }
}
