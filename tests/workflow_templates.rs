//! `weft::template::Renderer`: what the engine calls to render prompts, evaluate `if`
//! and `for_each`, and compute outputs against a JSON context.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use weft::template::Renderer;

#[test]
fn prompts_conditions_fan_out_and_outputs_render_against_a_json_context() {
    let w = weft::workflow::load("workflows/split-module.yaml").unwrap();
    let (verify, split) = (w.step("verify").unwrap(), w.step("split").unwrap());
    let files_output = &w.outputs.iter().find(|o| o.name.value == "files").unwrap();
    let templates = Renderer::new();
    let files = json!([{"path": "a.rs", "items": ["x", "y"], "reason": "r"}, {"path": "b.rs", "items": ["z"], "reason": "s"}]);
    let mut context = json!({
        "inputs": {"module": "src/big.rs", "max_files": 4},
        "steps": {"plan": {"output": {"files": files}, "status": "succeeded", "thread_id": "t1", "usage": null}},
        "workflow": {"name": "split-module"},
        "run": {"id": "r1"},
        "env": {},
    });
    let condition = &verify.if_expr.as_ref().unwrap().value;
    assert!(templates.truthy(condition, &context).unwrap());
    let for_each = &split.for_each.as_ref().unwrap().value;
    let Value::Array(items) = templates.eval(for_each, &context).unwrap() else {
        panic!("`for_each` of `split` gives a list");
    };
    assert_eq!(items.len(), 2);
    context["file"] = items[0].clone();
    context["loop"] = json!({"index": 1, "index0": 0, "length": 2});
    let prompt = templates.render(&split.prompt.value, &context).unwrap();
    assert!(
        prompt.starts_with("Create a.rs holding x, y, moved from\nsrc/big.rs (r), with the imports they need. This is part\n1 of 2, in a copy of the repository of its own: write\nonly under src/shapes/"),
        "{prompt}"
    );
    let output = templates
        .render_value(&files_output.template.value, &context)
        .unwrap();
    assert_eq!(output, files);
    let missing = templates
        .render(&split.prompt.value, &json!({"inputs": {}}))
        .unwrap_err();
    assert_eq!(missing.kind(), minijinja::ErrorKind::UndefinedError);
}
