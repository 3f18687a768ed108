//! Template rendering with hostile model output: step outputs full of template syntax,
//! control characters, odd Unicode and deep nesting reach the prompts of the example
//! workflows and a set of probing templates. Model output is data: a string inserted into
//! a prompt arrives exactly as it was, never evaluated; nothing panics or hangs.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use weft::template::Renderer;

use crate::harness::fuzz;

/// Text a hostile model writes: template syntax, escapes, controls, Unicode.
const HOSTILE: &[&str] = &[
    "{{ 7*7 }}",
    "{% for x in range(999999999) %}x{% endfor %}",
    "{{ env.HOME }}",
    "{#",
    "#}",
    "{%- raw %}",
    "{% endraw %}",
    "{{ self }}",
    "{{ steps }}",
    "{% include 'x' %}",
    "{{ ''.__class__ }}",
    "\u{0}",
    "\u{1b}[31m",
    "\r\n",
    "\u{FEFF}",
    "\u{202E}",
    "🦀",
    "é",
    "\\",
    "'",
    "\"",
    "}}",
    "{{",
    "%}",
    "{%",
    "|safe",
    "{{ loop }}",
];

fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(HOSTILE).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        hostile_text().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((hostile_text(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The prompts of the example workflows (`prompt: ...` values, roughly extracted).
fn example_prompts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut prompts = Vec::new();
    for entry in std::fs::read_dir(dir).expect("workflows/").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let Ok(workflow) = weft::workflow::load(&path) else {
            continue;
        };
        prompts.extend(workflow.steps.iter().map(|s| s.prompt.value.clone()));
    }
    prompts
}

/// The context a prompt sees, with every step's output, the fan-out item and the inputs
/// set to the hostile value.
fn context(value: &Value) -> Value {
    let step = json!({"output": value, "status": "succeeded", "thread_id": "t", "usage": {}});
    let names = [
        "survey",
        "plan",
        "split",
        "verify",
        "review",
        "triage",
        "summarise",
        "hello",
        "a",
    ];
    let steps: Map<String, Value> = names
        .iter()
        .map(|n| ((*n).to_owned(), step.clone()))
        .collect();
    json!({
        "steps": steps,
        "inputs": {"module": value, "diff": value, "log": value, "max_files": 3},
        "file": value, "item": value, "it": value,
        "loop": {"index": 1, "index0": 0, "length": 1},
        "workflow": {"name": "fuzz"}, "run": {"id": "r"}, "env": {},
    })
}

#[test]
fn template_rendering_with_hostile_output() {
    let renderer = Renderer::new();
    let prompts = example_prompts();
    assert!(!prompts.is_empty());
    fuzz("template_rendering", 6000, hostile_value(), |value| {
        let context = context(&value);
        for prompt in &prompts {
            let _ = renderer.render(prompt, &context);
        }
        let _ = renderer.render(
            "{{ steps.a.output | tojson }} {{ steps.a.output | length }}",
            &context,
        );
        let _ = renderer.render(
            "{% for x in steps.a.output %}[{{ x }}]{% endfor %}",
            &context,
        );
        let _ = renderer.truthy("steps.a.output | length > 1", &context);
        let _ = renderer.eval("steps.a.output", &context);
        if let Value::String(text) = &value {
            let rendered = renderer.render("<<{{ steps.a.output }}>>", &context);
            prop_assert_eq!(
                rendered.map_err(|e| e.to_string()),
                Ok(format!("<<{text}>>")),
                "model output was evaluated"
            );
        }
        let kept = renderer.render_value("{{ steps.a.output }}", &context);
        prop_assert_eq!(
            kept.map_err(|e| e.to_string()),
            Ok(value.clone()),
            "a lone expression keeps the value"
        );
        Ok(())
    });
}
