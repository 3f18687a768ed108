//! Rendering prompts and evaluating expressions against the run's template context.
//!
//! The context is plain JSON data (`inputs`, `steps`, `workflow`, `run`, `env`, the
//! fan-out item and `loop`). Values that came from the model are data: they are inserted
//! as values and never rendered as templates themselves.

use minijinja::{Environment, Value as JinjaValue};
use serde_json::Value;

/// A minijinja environment with strict undefined, shared by every render of a run.
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
        let mut env = crate::template::environment();
        env.add_filter("tojson", tojson);
        Self { env }
    }

    /// The environment every render of a run uses (its filters, tests and functions).
    pub fn environment(&self) -> &Environment<'static> {
        &self.env
    }

    /// Renders a template.
    pub fn render(&self, template: &str, context: &Value) -> Result<String, String> {
        let ctx = JinjaValue::from(minijinja::value::Serde(context));
        self.env.render_str(template, ctx).map_err(|e| describe(&e))
    }

    /// Evaluates an expression to JSON data.
    pub fn eval(&self, expression: &str, context: &Value) -> Result<Value, String> {
        let expr = self
            .env
            .compile_expression(expression)
            .map_err(|e| describe(&e))?;
        let value = expr
            .eval(JinjaValue::from(minijinja::value::Serde(context)))
            .map_err(|e| describe(&e))?;
        serde_json::to_value(&value).map_err(|e| e.to_string())
    }

    /// Evaluates a condition: the expression's truthiness.
    pub fn truthy(&self, expression: &str, context: &Value) -> Result<bool, String> {
        let expr = self
            .env
            .compile_expression(expression)
            .map_err(|e| describe(&e))?;
        expr.eval(JinjaValue::from(minijinja::value::Serde(context)))
            .map(|v| v.is_true())
            .map_err(|e| describe(&e))
    }

    /// Renders a workflow output: a template that is one `{{ expression }}` keeps the
    /// expression's JSON value (a list stays a list); anything else renders to a string.
    pub fn render_value(&self, template: &str, context: &Value) -> Result<Value, String> {
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
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
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
        assert!(err.contains("undefined"), "{err}");
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
