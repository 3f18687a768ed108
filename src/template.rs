//! Templates and expressions: one minijinja environment (strict undefined, no escaping),
//! every template of a workflow compiled up front, rendered later against a JSON context.
//!
//! Context (built by the engine): `inputs`, `steps.<id>.{output,status,thread_id,usage}`,
//! the `for_each` element (named by `as`) and `loop.{index,index0,length}`, `workflow.name`,
//! `run.id`, `env.<NAME>` for the allow-listed names. Model output is data: it is passed in
//! the context and never compiled.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value as JinjaValue};
use serde_json::Value;

use crate::workflow::Workflow;

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

/// The name a step's prompt is registered under.
pub fn prompt_name(step: &str) -> String {
    format!("steps.{step}.prompt")
}

/// The name a step's `resume` template is registered under.
pub fn resume_name(step: &str) -> String {
    format!("steps.{step}.resume")
}

/// The name an output's template is registered under.
pub fn output_name(output: &str) -> String {
    format!("outputs.{output}")
}

/// A workflow's templates and expressions, compiled, ready to render.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    expressions: Vec<(String, String)>,
}

impl Templates {
    /// Compile every template of `workflow` (a loaded workflow compiles: `load` checked it).
    pub fn new(workflow: &Workflow) -> Result<Self, minijinja::Error> {
        let mut env = environment();
        let mut expressions = Vec::new();
        for step in &workflow.steps {
            let id = &step.id.value;
            env.add_template_owned(prompt_name(id), step.prompt.value.clone())?;
            if let crate::workflow::ThreadRef::Resume(t) = &step.thread {
                env.add_template_owned(resume_name(id), t.value.clone())?;
            }
            if let Some(e) = &step.if_expr {
                expressions.push((format!("steps.{id}.if"), e.value.clone()));
            }
            if let Some(e) = &step.for_each {
                expressions.push((format!("steps.{id}.for_each"), e.value.clone()));
            }
        }
        for output in &workflow.outputs {
            env.add_template_owned(
                output_name(&output.name.value),
                output.template.value.clone(),
            )?;
        }
        for (_, source) in &expressions {
            env.compile_expression(source)?;
        }
        Ok(Templates { env, expressions })
    }

    /// Render the template registered as `name` (see [`prompt_name`]) against `context`.
    pub fn render(&self, name: &str, context: &Value) -> Result<String, minijinja::Error> {
        self.env
            .get_template(name)?
            .render(JinjaValue::from(Serde(context)))
    }

    /// Render step `step`'s prompt.
    pub fn render_prompt(&self, step: &str, context: &Value) -> Result<String, minijinja::Error> {
        self.render(&prompt_name(step), context)
    }

    /// Evaluate step `step`'s `if`; true when the step has none.
    pub fn eval_if(&self, step: &str, context: &Value) -> Result<bool, minijinja::Error> {
        match self.expression(&format!("steps.{step}.if")) {
            Some(source) => Ok(self.eval(source, context)?.is_true()),
            None => Ok(true),
        }
    }

    /// Evaluate step `step`'s `for_each` into its elements; `None` when it has none.
    pub fn eval_for_each(
        &self,
        step: &str,
        context: &Value,
    ) -> Result<Option<Vec<Value>>, minijinja::Error> {
        let Some(source) = self.expression(&format!("steps.{step}.for_each")) else {
            return Ok(None);
        };
        let value = self.eval(source, context)?;
        let items = value
            .try_iter()?
            .map(|v| to_json(&v))
            .collect::<Result<_, _>>()?;
        Ok(Some(items))
    }

    /// An output's value: a template that is one `{{ expression }}` keeps the expression's
    /// JSON type; any other template gives a string.
    pub fn render_output(&self, output: &str, context: &Value) -> Result<Value, minijinja::Error> {
        let template = self.env.get_template(&output_name(output))?;
        if let Some(expr) = single_expression(template.source()) {
            return to_json(&self.eval(expr, context)?);
        }
        template
            .render(JinjaValue::from(Serde(context)))
            .map(Value::String)
    }

    fn expression(&self, name: &str) -> Option<&str> {
        self.expressions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
    }

    /// Evaluate any expression against `context`.
    pub fn eval(&self, source: &str, context: &Value) -> Result<JinjaValue, minijinja::Error> {
        self.env
            .compile_expression(source)?
            .eval(JinjaValue::from(Serde(context)))
    }
}

fn to_json(value: &JinjaValue) -> Result<Value, minijinja::Error> {
    serde_json::to_value(value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))
}

/// The expression inside a template that is exactly `{{ expression }}`.
pub fn single_expression(template: &str) -> Option<&str> {
    let inner = template.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn single_expressions_are_recognised() {
        assert_eq!(
            single_expression("{{ steps.a.output }}"),
            Some("steps.a.output")
        );
        assert_eq!(single_expression("x {{ a }}"), None);
        assert_eq!(single_expression("{{ a }} {{ b }}"), None);
    }
}
