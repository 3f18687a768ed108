//! The models the app-server offers (`model/list`), one page at a time.

use serde_json::{Map, Value};

use super::app_server::Client;
use super::error::Result;
use super::protocol::ReasoningEffort;

/// Filters of [`Client::models`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelListOptions {
    /// Also the models hidden from the default picker.
    pub include_hidden: bool,
    /// A cursor from a previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// The models of this configured provider instead of the default one.
    pub model_provider: Option<String>,
}

/// One page of [`Client::models`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelList {
    /// The models.
    pub data: Vec<ModelInfo>,
    /// Pass as [`ModelListOptions::cursor`] for the next page.
    pub next_cursor: Option<String>,
}

/// A model (`Model`); the raw object is kept in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The id to pass as a thread's or turn's `model`.
    pub model: String,
    /// The name to show.
    pub display_name: String,
    /// What it is for.
    pub description: String,
    /// Whether it is the default.
    pub is_default: bool,
    /// Whether it is hidden from the default picker.
    pub hidden: bool,
    /// Its default reasoning effort, when it is one this client knows.
    pub default_effort: Option<ReasoningEffort>,
    /// The object exactly as sent.
    pub raw: Value,
}

impl ModelInfo {
    fn from_value(raw: Value) -> ModelInfo {
        let text = |key: &str| raw[key].as_str().unwrap_or_default().to_owned();
        ModelInfo {
            model: text("model"),
            display_name: text("displayName"),
            description: text("description"),
            is_default: raw["isDefault"].as_bool().unwrap_or(false),
            hidden: raw["hidden"].as_bool().unwrap_or(false),
            default_effort: serde_json::from_value(raw["defaultReasoningEffort"].clone()).ok(),
            raw,
        }
    }
}

impl Client {
    /// The models the app-server offers (`model/list`); one page.
    pub async fn models(&self, options: ModelListOptions) -> Result<ModelList> {
        let mut params = Map::new();
        params.insert("includeHidden".into(), options.include_hidden.into());
        if let Some(cursor) = options.cursor {
            params.insert("cursor".into(), cursor.into());
        }
        if let Some(limit) = options.limit {
            params.insert("limit".into(), limit.into());
        }
        if let Some(provider) = options.model_provider {
            params.insert("modelProvider".into(), provider.into());
        }
        let reply = self.request("model/list", Value::Object(params)).await?;
        let data = reply["data"].as_array().cloned().unwrap_or_default();
        Ok(ModelList {
            data: data.into_iter().map(ModelInfo::from_value).collect(),
            next_cursor: reply["nextCursor"].as_str().map(str::to_owned),
        })
    }
}
