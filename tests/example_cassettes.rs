//! The example workflows' cassettes: recorded with `weft run --record` through the real
//! app-server against the mock model (answers in `support/examples.rs`), byte for byte
//! what is checked in, and replayed by `weft test workflows/`.
//!
//! `WEFT_BLESS=1 cargo nextest run --test example_cassettes` rewrites the cassettes;
//! then `weft test workflows --update` rewrites the expectations.

mod support;

use std::process::Output;
use std::time::Duration;

use support::TestEnv;
use support::cli::weft_in;
use support::examples::{EXAMPLES, Example, copy_fixture, repo};

/// Records `example` against the mock; the cassette's text and weft's output.
async fn record(example: &Example) -> (String, Output) {
    let env = TestEnv::start(example.model).await;
    let work = copy_fixture(&env, example.workspace, "workspace");
    let cassette = env.dir.path().join("out.cassette.json");
    let workflow = repo().join(format!("workflows/{}.yaml", example.name));
    let mut args = vec![
        "run".to_string(),
        workflow.display().to_string(),
        "--record".into(),
        cassette.display().to_string(),
    ];
    for (name, value) in example.inputs {
        args.push("--input".into());
        args.push(format!("{name}={value}"));
    }
    args.extend(example.gate_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = weft_in(&env, &work, &args, &[], Duration::from_secs(240)).await;
    let text = std::fs::read_to_string(&cassette).unwrap_or_else(|e| {
        panic!(
            "no cassette ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (text, out)
}

#[tokio::test]
async fn recording_the_examples_gives_the_checked_in_cassettes_byte_for_byte() {
    let bless = std::env::var_os("WEFT_BLESS").is_some();
    let mut stale = Vec::new();
    for example in &EXAMPLES {
        let (text, out) = record(example).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("recorded "), "{}: {stderr}", example.name);
        let path = repo().join(format!("workflows/{}.cassette.json", example.name));
        if bless {
            std::fs::write(&path, &text).expect("bless");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(example.name);
        }
    }
    assert!(
        stale.is_empty(),
        "recording differs from the checked-in cassette of {stale:?}: \
         rerun with WEFT_BLESS=1 if the change is intended"
    );
}

fn validator(schema: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas").join(schema)).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::draft202012::meta::validate(&schema).expect("a valid JSON Schema");
    jsonschema::validator_for(&schema).expect("compile")
}

#[test]
fn every_cassette_and_expectation_matches_its_schema() {
    let cassette = validator("cassette.schema.json");
    let expect = validator("expect.schema.json");
    for example in &EXAMPLES {
        for (suffix, validator) in [("cassette", &cassette), ("expect", &expect)] {
            let path = repo().join(format!("workflows/{}.{suffix}.json", example.name));
            let text = std::fs::read_to_string(&path).expect("read");
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            weft::cassette::Cassette::load(
                &repo().join(format!("workflows/{}.cassette.json", example.name)),
            )
            .expect("weft reads it");
        }
    }
}
