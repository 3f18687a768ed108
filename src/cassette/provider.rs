//! Where `--record` forwards to: the user's own model provider, read from codex's
//! effective config (`config/read`, `account/read` on a short-lived app-server), and the
//! provider table that points the app-server at weft's recorder instead.

use serde_json::{Map, Value, json};

use crate::client::{Client, ClientConfig};
use crate::engine::CodexConfig;

/// The public OpenAI API, for an API key.
const OPENAI_API: &str = "https://api.openai.com/v1";
/// The ChatGPT backend codex uses after `codex login` with a ChatGPT account.
const CHATGPT_BACKEND: &str = "https://chatgpt.com/backend-api/codex";

/// How to record through the user's provider.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordTarget {
    /// The provider's real base URL, where requests are forwarded.
    pub upstream: String,
    /// The provider table for `-c model_providers.weft_record=...`, without `base_url`.
    pub provider: Map<String, Value>,
    /// The configured default model, if any.
    pub model: Option<String>,
}

/// Why weft cannot record through the configured provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot read the codex configuration: {0}")]
    Probe(String),
    #[error(
        "cannot record: no model credentials; run `codex login`, or set OPENAI_API_KEY, then record again"
    )]
    NoCredentials,
    #[error(
        "cannot record through model provider `{name}`: {why}; weft records by forwarding requests to a provider's base URL"
    )]
    Unreachable { name: String, why: String },
}

/// Reads the user's provider with a short-lived app-server started like the run's.
pub async fn probe(config: &CodexConfig) -> Result<RecordTarget, ProviderError> {
    let probe = |e: crate::client::Error| ProviderError::Probe(e.to_string());
    let client = Client::spawn(ClientConfig {
        codex_bin: config.codex_bin.clone(),
        codex_home: config.codex_home.clone(),
        env: config.env.clone(),
        config_overrides: config.config_overrides.clone(),
        client_name: "weft".into(),
        ..ClientConfig::default()
    })
    .await
    .map_err(probe)?;
    let read = client.request("config/read", json!({})).await;
    let account = client
        .request("account/read", json!({"refreshToken": false}))
        .await;
    let _ = client.close().await;
    let config = read.map_err(probe)?;
    let account = account.map_err(probe)?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    target(&config["config"], &account["account"], &env)
}

/// Decides the target from `config/read`'s `config`, `account/read`'s `account` and the
/// environment.
pub fn target(
    config: &Value,
    account: &Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RecordTarget, ProviderError> {
    let name = config["model_provider"].as_str().unwrap_or("openai");
    let model = config["model"].as_str().map(str::to_string);
    if let Some(Value::Object(info)) = config["model_providers"].get(name) {
        return custom(name, info, model);
    }
    if name != "openai" {
        return Err(ProviderError::Unreachable {
            name: name.into(),
            why: "it is built into codex; declare it under [model_providers] in config.toml with its base_url".into(),
        });
    }
    let api = env("OPENAI_BASE_URL").unwrap_or_else(|| OPENAI_API.to_string());
    let mut provider = Map::new();
    provider.insert("name".into(), json!("OpenAI (weft record)"));
    provider.insert("wire_api".into(), json!("responses"));
    let upstream = match account["type"].as_str() {
        Some("apiKey") => api,
        Some("chatgpt") => CHATGPT_BACKEND.to_string(),
        Some(other) => {
            return Err(ProviderError::Unreachable {
                name: name.into(),
                why: format!("its `{other}` credentials are not sent as HTTP headers"),
            });
        }
        None if env("OPENAI_API_KEY").is_some() => {
            provider.insert("env_key".into(), json!("OPENAI_API_KEY"));
            api
        }
        None => return Err(ProviderError::NoCredentials),
    };
    if !provider.contains_key("env_key") {
        provider.insert("requires_openai_auth".into(), json!(true));
    }
    Ok(RecordTarget {
        upstream,
        provider: finish(provider),
        model,
    })
}

fn custom(
    name: &str,
    info: &Map<String, Value>,
    model: Option<String>,
) -> Result<RecordTarget, ProviderError> {
    let unreachable = |why: &str| ProviderError::Unreachable {
        name: name.into(),
        why: why.into(),
    };
    if !info.get("aws").is_none_or(Value::is_null) {
        return Err(unreachable(
            "it signs each request for AWS, and a signed request cannot be forwarded",
        ));
    }
    let Some(upstream) = info.get("base_url").and_then(Value::as_str) else {
        return Err(unreachable("it has no base_url"));
    };
    let dropped = [
        "base_url",
        "supports_websockets",
        "websocket_connect_timeout_ms",
    ];
    let provider = info
        .iter()
        .filter(|(k, v)| !v.is_null() && !dropped.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(RecordTarget {
        upstream: upstream.to_string(),
        provider: finish(provider),
        model,
    })
}

/// No retries inside codex (a failed request fails the turn, so what is recorded is what
/// a replay serves) and no websockets (weft forwards HTTP only).
fn finish(mut provider: Map<String, Value>) -> Map<String, Value> {
    provider.insert("request_max_retries".into(), json!(0));
    provider.insert("stream_max_retries".into(), json!(0));
    provider.insert("supports_websockets".into(), json!(false));
    provider
}

/// A JSON value as a TOML inline value, for a `-c key=value` override.
pub fn toml_inline(value: &Value) -> String {
    match value {
        Value::Null => "\"\"".into(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_inline).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_inline(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_custom_provider_is_copied_without_its_base_url() {
        let config = json!({"model_provider": "corp", "model": "m1", "model_providers": {"corp": {
            "name": "Corp", "base_url": "https://llm.corp/v1", "env_key": "CORP_KEY",
            "wire_api": "responses", "http_headers": {"x-team": "a b"}, "aws": null,
            "supports_websockets": true}}});
        let target = target(&config, &Value::Null, &no_env).expect("target");
        assert_eq!(target.upstream, "https://llm.corp/v1");
        assert_eq!(target.model.as_deref(), Some("m1"));
        assert_eq!(
            toml_inline(&Value::Object(target.provider)),
            r#"{name = "Corp", env_key = "CORP_KEY", wire_api = "responses", http_headers = {x-team = "a b"}, request_max_retries = 0, stream_max_retries = 0, supports_websockets = false}"#
        );
    }

    #[test]
    fn openai_forwards_by_credential_kind() {
        let config = json!({"model_provider": null, "model": null, "model_providers": {}});
        let api_key = target(&config, &json!({"type": "apiKey"}), &no_env).expect("api key");
        assert_eq!(api_key.upstream, OPENAI_API);
        assert_eq!(api_key.provider["requires_openai_auth"], json!(true));
        let chatgpt = target(&config, &json!({"type": "chatgpt"}), &no_env).expect("chatgpt");
        assert_eq!(chatgpt.upstream, CHATGPT_BACKEND);
        let from_env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-x".to_string());
        let env_key = target(&config, &Value::Null, &from_env).expect("env key");
        assert_eq!(env_key.provider["env_key"], json!("OPENAI_API_KEY"));
        assert!(!env_key.provider.contains_key("requires_openai_auth"));
    }

    #[test]
    fn providers_weft_cannot_forward_to_are_refused_with_the_reason() {
        let none = json!({"model_providers": {}});
        let err = target(&none, &Value::Null, &no_env).expect_err("no credentials");
        assert!(err.to_string().contains("run `codex login`"), "{err}");
        let aws = json!({"model_provider": "bedrock", "model_providers": {"bedrock": {
            "name": "b", "aws": {"region": "us-east-1"}}}});
        let err = target(&aws, &Value::Null, &no_env).expect_err("aws");
        assert!(err.to_string().contains("signs each request"), "{err}");
        let builtin = json!({"model_provider": "ollama", "model_providers": {}});
        let err = target(&builtin, &Value::Null, &no_env).expect_err("built-in");
        assert!(
            err.to_string()
                .starts_with("cannot record through model provider `ollama`"),
            "{err}"
        );
    }
}
