//! Every workflow shipped in `workflows/` validates and plans, and the schema file is
//! valid JSON Schema with a description on every property.

use weft::plan::Plan;

#[test]
fn every_example_workflow_validates_and_plans() {
    let mut count = 0;
    let shipped = std::fs::read_dir("workflows")
        .unwrap()
        .chain(std::fs::read_dir("workflows/parts").unwrap());
    for entry in shipped {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let w = weft::workflow::load(&path).unwrap_or_else(|e| panic!("{}", e.render()));
            Plan::build(&w).unwrap();
            count += 1;
        }
    }
    assert!(
        count >= 6,
        "expected the five examples and a part, found {count}"
    );
}

fn check_descriptions(schema: &serde_json::Value, at: &str, missing: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(props) = object.get("properties").and_then(|p| p.as_object()) {
        for (name, prop) in props {
            let described = prop.get("description").is_some() || prop.get("$ref").is_some();
            if !described {
                missing.push(format!("{at}/{name}"));
            }
            check_descriptions(prop, &format!("{at}/{name}"), missing);
        }
    }
    if let Some(defs) = object.get("$defs").and_then(|d| d.as_object()) {
        for (name, def) in defs {
            check_descriptions(def, &format!("$defs/{name}"), missing);
        }
    }
}

#[test]
fn the_workflow_schema_is_valid_and_documents_every_field() {
    let schema: serde_json::Value = serde_json::from_str(weft::workflow::WORKFLOW_SCHEMA).unwrap();
    jsonschema::draft202012::meta::validate(&schema).unwrap();
    let mut missing = Vec::new();
    check_descriptions(&schema, "", &mut missing);
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

#[test]
fn example_output_schemas_are_strict_mode_ready() {
    fn strict(schema: &serde_json::Value) -> bool {
        let Some(object) = schema.as_object() else {
            return true;
        };
        if let Some(props) = object.get("properties").and_then(|p| p.as_object()) {
            let required: Vec<&str> = object["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            if object.get("additionalProperties") != Some(&serde_json::json!(false)) {
                return false;
            }
            if !props.keys().all(|k| required.contains(&k.as_str())) {
                return false;
            }
        }
        object.values().all(strict)
    }
    for entry in std::fs::read_dir("schemas").unwrap() {
        let path = entry.unwrap().path();
        // `*.schema.json` are weft's own contracts (workflow files, events), not the
        // examples' output schemas.
        if path.to_string_lossy().ends_with(".schema.json") {
            continue;
        }
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            strict(&schema),
            "{} is not strict-mode ready",
            path.display()
        );
    }
}
