//! A step's `config:` is checked against weft's list of Codex config keys: that list
//! covers every key the pinned app-server reports in its own `Config` (its generated
//! JSON Schema), and what weft accepts or refuses agrees with what the real app-server's
//! `thread/start` does with the same `config` (except unknown keys: the app-server
//! ignores them silently, which is why weft refuses them).

mod support;

use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};
use support::wire_schema::{SchemaDoc, generate};
use support::{TestEnv, codex_bin, within};
use weft::client::ThreadOptions;
use weft::mock::MockReply;
use weft::workflow::codex_config::{CODEX_CONFIG_SCHEMA, REFUSED, known_keys};

#[test]
fn every_key_of_the_pinned_app_servers_config_is_known_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    generate(&codex_bin(), dir.path());
    let doc = SchemaDoc::read(dir.path(), "v2/ConfigReadResponse.json");
    let config = doc.definition("Config");
    let known = known_keys();
    let mut missing = Vec::new();
    for key in config["properties"].as_object().unwrap().keys() {
        if !known.contains(&key.as_str()) && !REFUSED.iter().any(|(k, _)| k == key) {
            missing.push(key.clone());
        }
    }
    assert!(missing.is_empty(), "keys weft does not know: {missing:?}");
    let ours: Value = serde_json::from_str(CODEX_CONFIG_SCHEMA).unwrap();
    for (key, definition) in [
        ("web_search", "WebSearchMode"),
        ("model_verbosity", "Verbosity"),
    ] {
        assert_eq!(
            ours["properties"][key]["enum"],
            doc.definition(definition)["enum"],
            "`{key}` takes the pinned codex's values"
        );
    }
    jsonschema::draft7::meta::validate(&ours).expect("a valid JSON Schema");
}

/// The problems weft's loader finds in a step with `config`.
fn weft_problems(config: &Value) -> Vec<String> {
    let yaml = format!("steps:\n  a:\n    prompt: A\n    config: {config}\n");
    match weft::workflow::load_str("w.yaml", yaml, Path::new(".")) {
        Ok(_) => Vec::new(),
        Err(error) => error.to_json().into_iter().map(|d| d.message).collect(),
    }
}

#[tokio::test]
async fn weft_refuses_what_the_app_server_would_fail_on_and_what_it_would_ignore() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let client = env.client().await;
    let cases: &[(Value, bool, bool)] = &[
        // config, weft accepts it, the app-server accepts it
        (json!({"web_search": "live"}), true, true),
        (json!({"web_search": "bogus"}), false, false),
        (json!({"web_search": 5}), false, false),
        (
            json!({"mcp_servers": {"docs": {"command": "docs-server", "args": ["--stdio"]}}}),
            true,
            true,
        ),
        (
            json!({"mcp_servers": {"docs": {"comand": "docs-server"}}}),
            false,
            false,
        ),
        (json!({"tools": {"web_search": true}}), true, true),
        (
            json!({"features": {"web_search_request": true}}),
            true,
            true,
        ),
        (
            json!({"shell_environment_policy": {"inherit": "core"}}),
            true,
            true,
        ),
        (
            json!({"shell_environment_policy": {"inherit": "some"}}),
            false,
            false,
        ),
        (json!({"hide_agent_reasoning": "yes"}), false, false),
        (json!({"project_doc_max_bytes": 1024}), true, true),
        (json!({"web_serch": "live"}), false, true),
    ];
    for (config, weft_ok, server_ok) in cases {
        let problems = weft_problems(config);
        assert_eq!(
            problems.is_empty(),
            *weft_ok,
            "weft on {config}: {problems:?}"
        );
        let options = ThreadOptions {
            config: config.as_object().cloned().unwrap_or_else(Map::new),
            cwd: Some(env.work()),
            ..ThreadOptions::default()
        };
        let started = within(client.thread_start(options)).await;
        assert_eq!(
            started.is_ok(),
            *server_ok,
            "the app-server on {config}: {:?}",
            started.err()
        );
    }
    within(client.close()).await.unwrap();
}
