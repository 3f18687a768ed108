//! `weft::template::Templates`: what the engine calls to render prompts, evaluate `if`
//! and `for_each`, and compute outputs against a JSON context.

use pretty_assertions::assert_eq;
use serde_json::json;
use weft::template::Templates;

#[test]
fn prompts_conditions_fan_out_and_outputs_render_against_a_json_context() {
    let w = weft::workflow::load("workflows/split-module.yaml").unwrap();
    let templates = Templates::new(&w).unwrap();
    let files = json!([{"path": "a.rs", "items": ["x", "y"], "reason": "r"}, {"path": "b.rs", "items": ["z"], "reason": "s"}]);
    let mut context = json!({
        "inputs": {"module": "src/big.rs", "max_files": 4},
        "steps": {"plan": {"output": {"files": files}, "status": "succeeded", "thread_id": "t1", "usage": null}},
        "workflow": {"name": "split-module"},
        "run": {"id": "r1"},
        "env": {},
    });
    assert!(templates.eval_if("verify", &context).unwrap());
    let items = templates.eval_for_each("split", &context).unwrap().unwrap();
    assert_eq!(items.len(), 2);
    context["file"] = items[0].clone();
    context["loop"] = json!({"index": 1, "index0": 0, "length": 2});
    let prompt = templates.render_prompt("split", &context).unwrap();
    assert!(
        prompt.starts_with("Create a.rs holding x, y, moved from\nsrc/big.rs (r), with the imports they need. This is part\n1 of 2;"),
        "{prompt}"
    );
    assert_eq!(templates.render_output("files", &context).unwrap(), files);
    let missing = templates
        .render_prompt("split", &json!({"inputs": {}}))
        .unwrap_err();
    assert_eq!(missing.kind(), minijinja::ErrorKind::UndefinedError);
}
