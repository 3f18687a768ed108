//! The template context of a run: `inputs`, the finished steps' `output`, `status`,
//! `thread_id` and `usage` (a script's `exit_code` and `stderr`, a loop's `iterations`),
//! `workflow`, `run` (`id`, `dir`) and the allow-listed `env`; plus, for one unit, its
//! fan-out element and `loop`, a loop's `iteration`, or for `fail_if` and `until`, the
//! `output`. A called workflow's steps see their own file's names: its inputs (the
//! calling step's `with`), its steps (without the prefix), its `name` and `env`.
//! Values that came from the model are inserted as data, never rendered.

use serde_json::{Map, Value, json};

use super::outcome::StepRecord;
use super::spec::RunSpec;

/// The context of the templates of scope `scope`, whose inputs are `inputs`.
pub fn scope_context<'a>(
    spec: &RunSpec,
    scope: usize,
    inputs: &Value,
    done: impl Iterator<Item = &'a StepRecord>,
) -> Value {
    let prefix = spec.prefix(scope);
    let steps: Map<String, Value> = done
        .filter_map(|rec| {
            let name = rec.id.strip_prefix(prefix)?;
            (!name.contains('/')).then_some((name, rec))
        })
        .map(|(name, rec)| {
            let mut entry = json!({
                "output": rec.output,
                "status": rec.status.as_str(),
                "thread_id": rec.thread_id,
                "usage": rec.usage,
            });
            let extra = [
                ("exit_code", &rec.exit_code),
                ("stderr", &rec.stderr),
                ("iterations", &rec.iterations),
            ];
            for (name, value) in extra {
                if let (Some(value), Value::Object(map)) = (value, &mut entry) {
                    map.insert(name.into(), value.clone());
                }
            }
            (name.to_string(), entry)
        })
        .collect();
    let (name, env) = match spec.scopes.get(scope) {
        Some(s) if scope > 0 => (&s.workflow_name, &s.env),
        _ => (&spec.workflow_name, &spec.env),
    };
    let dir = spec.run_dir.as_ref().map(|d| d.display().to_string());
    json!({
        "inputs": inputs,
        "steps": steps,
        "workflow": { "name": name },
        "run": { "id": spec.run_id, "dir": dir },
        "env": env,
    })
}

/// `context` for fan-out element `slot` of `total`: the element as `name`, and `loop`.
pub fn with_element(
    mut context: Value,
    name: &str,
    item: Value,
    slot: usize,
    total: usize,
) -> Value {
    if let Value::Object(map) = &mut context {
        map.insert(name.to_string(), item);
        map.insert(
            "loop".into(),
            json!({ "index": slot + 1, "index0": slot, "length": total, "first": slot == 0, "last": slot + 1 == total }),
        );
    }
    context
}

/// `context` with a step's own `output` (what `fail_if` reads).
pub fn with_output(mut context: Value, output: &Value) -> Value {
    if let Value::Object(map) = &mut context {
        map.insert("output".into(), output.clone());
    }
    context
}

/// `context` for iteration `number` of a loop: `iteration.number` and `iteration.previous`
/// (the previous iteration's output; none in the first).
pub fn with_iteration(mut context: Value, number: u32, previous: &Value) -> Value {
    if let Value::Object(map) = &mut context {
        map.insert(
            "iteration".into(),
            json!({ "number": number, "previous": previous }),
        );
    }
    context
}
