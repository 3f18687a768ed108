//! Sample values: one value of each type, for a render of every template before the run.
//! Every property is there (optional ones too: reading those without a default is a
//! warning of its own), every list has two elements, an enum takes its first value.

use serde_json::{Map, Value, json};

use super::scope::{Globals, result_type};
use super::ty::Type;
use crate::workflow::Workflow;

/// How many elements a sample list has.
const LIST_LENGTH: usize = 2;

/// A value of type `ty`.
pub fn sample(ty: &Type) -> Value {
    match ty {
        Type::Unknown | Type::String => Value::String("text".into()),
        Type::Null => Value::Null,
        Type::Bool => Value::Bool(true),
        Type::Integer => json!(1),
        Type::Number => json!(1.5),
        Type::Enum(values) => values
            .iter()
            .find(|v| !v.is_null())
            .or(values.first())
            .cloned()
            .unwrap_or(Value::Null),
        Type::Array(element) => Value::Array(vec![sample(element); LIST_LENGTH]),
        Type::Object(object) => Value::Object(
            object
                .fields
                .iter()
                .map(|(name, field)| (name.clone(), sample(&field.ty)))
                .collect(),
        ),
        Type::Union(members) => {
            let first = members.iter().find(|m| !matches!(m, Type::Null));
            first.map_or(Value::Null, sample)
        }
    }
}

/// The context every template of `workflow` renders against at `validate`: input
/// defaults (else samples), a sample result for every step (of the output types in
/// `globals`: `status` is `succeeded`, every number 1), `workflow`, `run`, `env`.
pub fn context(workflow: &Workflow, globals: &Globals) -> Value {
    let inputs: Map<String, Value> = workflow
        .inputs
        .iter()
        .map(|input| {
            let ty = super::scope::input_type(input.ty, &input.values);
            let value = input.default.clone().unwrap_or_else(|| sample(&ty));
            (input.name.value.clone(), value)
        })
        .collect();
    let steps: Map<String, Value> = workflow
        .steps
        .iter()
        .zip(&globals.outputs)
        .map(|(step, output)| {
            let result = sample(&result_type(step, output.clone()));
            (step.id.value.clone(), result)
        })
        .collect();
    let env: Map<String, Value> = workflow
        .env
        .iter()
        .map(|name| (name.value.clone(), Value::String("value".into())))
        .collect();
    json!({
        "inputs": inputs,
        "steps": steps,
        "workflow": { "name": workflow.name },
        "run": { "id": "validate", "dir": "/weft/runs/validate/files" },
        "env": env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_have_every_property_and_two_elements() {
        let ty = super::super::schema::schema_type(&json!({
            "type": "object", "required": ["files"],
            "properties": { "files": { "type": "array", "items": {
                "type": "object", "properties": { "path": { "type": "string" },
                "level": { "enum": [null, "high"] } } } } }
        }));
        assert_eq!(
            sample(&ty),
            json!({"files": [{"level": "high", "path": "text"}, {"level": "high", "path": "text"}]})
        );
    }
}
