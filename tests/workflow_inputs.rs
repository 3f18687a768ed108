//! Typed inputs from `--input` pairs and `--inputs` files.

use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::json;
use weft::workflow::inputs::{InputError, parse_pair, resolve};
use weft::workflow::{Workflow, load_str};

fn workflow() -> Workflow {
    let yaml = "inputs:\n  module: { type: string }\n  n: { type: integer, default: 4 }\n  ratio: { type: number, required: false }\n  dry: { type: boolean, default: false }\n  files: { type: array, default: [] }\n  opts: { type: object, required: false }\n  level: { type: enum, values: [low, high], default: low }\nsteps:\n  a: { prompt: \"{{ inputs.module }}\" }\n";
    load_str("w.yaml", yaml, Path::new(".")).unwrap()
}

fn pairs(list: &[&str]) -> Vec<(String, String)> {
    list.iter().map(|p| parse_pair(p).unwrap()).collect()
}

#[test]
fn values_are_typed_by_their_declaration_and_defaults_fill_in() {
    let got = resolve(
        &workflow(),
        &pairs(&[
            "module=src/a.rs",
            "n=7",
            "files=[\"x\"]",
            "level=high",
            "dry=true",
        ]),
        None,
    )
    .unwrap();
    assert_eq!(
        serde_json::Value::Object(got),
        json!({"module": "src/a.rs", "n": 7, "ratio": null, "dry": true, "files": ["x"], "opts": null, "level": "high"})
    );
}

#[test]
fn missing_required_inputs_and_wrong_types_name_the_input() {
    let w = workflow();
    assert_eq!(
        resolve(&w, &[], None).unwrap_err(),
        InputError::Missing("module".into())
    );
    let error = resolve(&w, &pairs(&["module=x", "n=seven"]), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "input `n` must be an integer, got `seven`"
    );
    let error = resolve(&w, &pairs(&["module=x", "level=mid"]), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "input `level` must be one of `low`, `high`, got `mid`"
    );
    let error = resolve(&w, &pairs(&["modul=x"]), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown input `modul`; did you mean `module`?"
    );
    assert!(parse_pair("novalue").is_err());
}

#[test]
fn an_inputs_file_in_yaml_or_json_and_pairs_win() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.yaml");
    std::fs::write(&file, "module: m.rs\nn: 2\nopts: { a: 1 }\n").unwrap();
    let got = resolve(&workflow(), &pairs(&["n=3"]), Some(&file)).unwrap();
    assert_eq!(
        (got["module"].clone(), got["n"].clone(), got["opts"].clone()),
        (json!("m.rs"), json!(3), json!({"a": 1}))
    );
    std::fs::write(&file, "{\"module\": 5}").unwrap();
    let error = resolve(&workflow(), &[], Some(&file)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "input `module` must be a string, got `5`"
    );
}
