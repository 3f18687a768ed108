//! Templates and expressions: one minijinja environment (strict undefined, no escaping),
//! used to check every template of a workflow when it loads and to render them at run time.
//!
//! Context (built by the engine): `inputs`, `steps.<id>.{output,status,thread_id,usage}`,
//! the `for_each` element (named by `as`) and `loop.{index,index0,length}`, `workflow.name`,
//! `run.id`, `env.<NAME>` for the allow-listed names. Model output is data: it is passed in
//! the context as values and never compiled.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value as JinjaValue};
use serde_json::Value;

/// The environment every workflow template is compiled in.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env
}

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
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = environment();
        env.add_filter("tojson", tojson);
        Self { env }
    }

    /// The environment every render of a run uses (its filters, tests and functions).
    pub fn environment(&self) -> &Environment<'static> {
        &self.env
    }

    /// Renders a template.
    pub fn render(&self, template: &str, context: &Value) -> Result<String, TemplateError> {
        Ok(self
            .env
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
        let trimmed = template.trim();
        if let Some(inner) = trimmed
            .strip_prefix("{{")
            .and_then(|s| s.strip_suffix("}}"))
            .filter(|inner| !inner.contains("{{") && !inner.contains("}}"))
        {
            return self.eval(inner.trim(), context);
        }
        self.render(template, context).map(Value::String)
    }
}

fn tojson(value: JinjaValue) -> Result<String, minijinja::Error> {
    serde_json::to_string(&value)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))
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
