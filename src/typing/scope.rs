//! The template context as types: the variables every template can read (`inputs`,
//! `steps`, `workflow`, `run`, `env`), those of one place (the fan-out element and
//! `loop`, a loop's `iteration`, a `fail_if`'s or `until`'s `output`), and the result type
//! of each step.
//!
//! A new step kind plugs in by describing its output in [`unit_output_type`]; a new context
//! variable by one more entry in [`Globals::new`] or [`Scope::with`].

use std::rc::Rc;

use serde_json::Value;

use super::schema::schema_type;
use super::ty::{Field, Object, Type};
use crate::vocab::OutputFormat;
use crate::workflow::{InputType, Step, StepKind, Workflow};

/// The values of `steps.<id>.status` (the engine's `Status`, as templates read it).
pub const STATUSES: &[&str] = &["succeeded", "failed", "skipped", "interrupted"];

/// The fields of `steps.<id>.usage` (the engine's `Usage`), all integers.
pub const USAGE_FIELDS: &[&str] = &[
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
];

/// The root variables of a template, by name.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    vars: Vec<(String, Rc<Type>)>,
}

impl Scope {
    /// The same scope with `name` bound to `ty` (replacing an earlier binding).
    pub fn with(mut self, name: &str, ty: Type) -> Self {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), Rc::new(ty)));
        self
    }

    /// The type of root variable `name`.
    pub fn get(&self, name: &str) -> Option<&Type> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_ref())
    }
}

/// The variables every template of a workflow can read, built once.
#[derive(Debug, Clone)]
pub struct Globals {
    scope: Scope,
    /// Each step's output type, in step order.
    pub outputs: Vec<Type>,
}

impl Globals {
    /// `inputs`, `steps`, `workflow`, `run` and `env` of `workflow`.
    pub fn new(workflow: &Workflow) -> Self {
        let inputs = workflow.inputs.iter().map(|input| {
            let ty = input_type(input.ty, &input.values);
            let ty = if input.required || input.default.is_some() {
                ty
            } else {
                ty.nullable()
            };
            (input.name.value.as_str(), ty)
        });
        let outputs: Vec<Type> = workflow.steps.iter().map(output_type).collect();
        let steps = workflow
            .steps
            .iter()
            .zip(&outputs)
            .map(|(s, output)| (s.id.value.as_str(), result_type(s, output.clone())));
        let env = workflow
            .env
            .iter()
            .map(|e| (e.value.as_str(), Type::String.nullable()));
        let scope = Scope::default()
            .with("inputs", Type::object(inputs))
            .with("steps", Type::object(steps))
            .with("workflow", Type::object([("name", Type::String)]))
            .with(
                "run",
                Type::object([("id", Type::String), ("dir", Type::String)]),
            )
            .with("env", Type::object(env));
        Globals { scope, outputs }
    }

    /// A scope holding the workflow-wide variables only.
    pub fn scope(&self) -> Scope {
        self.scope.clone()
    }
}

/// The type of an input declared as `ty` (with `values` for an enum).
pub fn input_type(ty: InputType, values: &[Value]) -> Type {
    match ty {
        InputType::String => Type::String,
        InputType::Integer => Type::Integer,
        InputType::Number => Type::Number,
        InputType::Boolean => Type::Bool,
        InputType::Array => Type::array(Type::Unknown),
        InputType::Object => Type::open_object(),
        InputType::Enum => Type::Enum(values.to_vec()),
    }
}

/// What `steps.<id>` holds: its `output` (given), `status`, `thread_id` and `usage`; a
/// script also has `exit_code` and `stderr`, a loop `iterations` (for a `for_each` step,
/// each of these three is the list of its elements').
pub fn result_type(step: &Step, output: Type) -> Type {
    let statuses = STATUSES.iter().map(|s| Value::from(*s)).collect();
    let usage = Type::object(USAGE_FIELDS.iter().map(|f| (*f, Type::Integer)));
    let each = |ty: Type| match step.for_each {
        Some(_) => Type::array(ty),
        None => ty,
    };
    let mut fields = vec![
        ("output", output),
        ("status", Type::Enum(statuses)),
        ("thread_id", Type::String.nullable()),
        ("usage", usage),
    ];
    if step.kind.script().is_some() {
        fields.push(("exit_code", each(Type::Integer.nullable())));
        fields.push(("stderr", each(Type::String.nullable())));
    }
    if step.looping.is_some() {
        fields.push(("iterations", each(Type::array(unit_output_type(step)))));
    }
    Type::Object(Rc::new(Object {
        fields: fields
            .into_iter()
            .map(|(name, ty)| (name.to_string(), Field::required(ty)))
            .collect(),
        open: false,
    }))
}

/// A step's `output`: what one unit gives ([`unit_output_type`]); a `for_each` step's
/// output is the list of its elements' outputs; a step that `uses` a workflow gives that
/// workflow's `outputs`.
pub fn output_type(step: &Step) -> Type {
    if let Some(call) = &step.call {
        return call
            .workflow
            .as_ref()
            .map_or(Type::Unknown, |w| super::outputs::outputs_type(w));
    }
    let one = unit_output_type(step);
    match step.for_each {
        Some(_) => Type::array(one),
        None => one,
    }
}

/// What one run of a step gives (one element, one iteration): a turn's answer (its
/// schema's type, else a string or none); a script's stdout as text, lines, or json (its
/// schema's type); a gate's `{approved, reply}`, or the reply's schema type.
pub fn unit_output_type(step: &Step) -> Type {
    let schema = step.output_schema.as_ref().map(schema_type);
    match (&step.kind, schema) {
        (StepKind::Script(script), schema) => match script.output {
            OutputFormat::Text => Type::String,
            OutputFormat::Lines => Type::array(Type::String),
            OutputFormat::Json => schema.unwrap_or(Type::Unknown),
        },
        (_, Some(schema)) => schema,
        (StepKind::Turn, None) => Type::String.nullable(),
        (StepKind::Gate(_), None) => gate_reply(),
    }
}

/// A gate's output without `output_schema`.
pub fn gate_reply() -> Type {
    Type::object([("approved", Type::Bool), ("reply", Type::String.nullable())])
}

/// `iteration` in a `loop` step: its `number` (from 1) and the `previous` iteration's
/// output (none in the first).
pub fn iteration_type(step: &Step) -> Type {
    Type::object([
        ("number", Type::Integer),
        ("previous", unit_output_type(step).nullable()),
    ])
}

/// `conflict` in the prompt of a repair step (the engine's `tree::Conflict`): the step
/// whose patches conflict, the files left with conflict markers, weft's message, and the
/// patches that did not merge cleanly, in element order.
pub fn conflict_type() -> Type {
    let patch = Type::object([
        ("element", Type::Integer.nullable()),
        ("file", Type::String),
        ("files", Type::array(Type::String)),
        ("markers", Type::Bool),
    ]);
    Type::object([
        ("step", Type::String),
        ("files", Type::array(Type::String)),
        ("message", Type::String),
        ("patches", Type::array(patch)),
    ])
}

/// `loop` in the prompt of a `for_each` step (the engine's fan-out loop).
pub fn fan_out_loop() -> Type {
    Type::object([
        ("index", Type::Integer),
        ("index0", Type::Integer),
        ("length", Type::Integer),
        ("first", Type::Bool),
        ("last", Type::Bool),
    ])
}

/// `loop` inside a `{% for %}` of a template (minijinja's loop object: it has methods).
pub fn template_loop() -> Type {
    let mut fields = match fan_out_loop() {
        Type::Object(object) => object.fields.clone(),
        _ => Default::default(),
    };
    for name in ["revindex", "revindex0", "depth", "depth0"] {
        fields.insert(name.into(), Field::required(Type::Integer));
    }
    Type::Object(Rc::new(Object { fields, open: true }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::agent::Usage;
    use crate::engine::event::Status;

    #[test]
    fn statuses_and_usage_fields_are_the_engines() {
        for status in [
            Status::Succeeded,
            Status::Failed,
            Status::Skipped,
            Status::Interrupted,
        ] {
            match status {
                Status::Succeeded | Status::Failed | Status::Skipped | Status::Interrupted => {}
                Status::Waiting => unreachable!("never read: a step after a waiting one waits"),
            }
            assert!(STATUSES.contains(&status.as_str()), "{status:?}");
        }
        assert_eq!(STATUSES.len(), 4);
        let usage = serde_json::to_value(Usage::default()).unwrap();
        let keys: Vec<&str> = usage
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, USAGE_FIELDS);
    }
}
