//! The input of a turn: items with the user's authority (text, images, skills, mentions),
//! or content from outside with a tool's authority (`turn/start.toolOutput`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One piece of user input (`UserInput`, tagged by `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum UserInput {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image by URL (`https://…` or a `data:image/png;base64,…` URL).
    Image {
        /// The image URL.
        url: String,
    },
    /// An image file on the agent's machine; the app-server reads it and sends its bytes.
    LocalImage {
        /// Its path.
        path: PathBuf,
    },
    /// A skill to invoke.
    Skill {
        /// The skill's name.
        name: String,
        /// Its path.
        path: PathBuf,
    },
    /// A mention of an app or plugin (`app://…`, `plugin://…`).
    Mention {
        /// Display name.
        name: String,
        /// The mention's path.
        path: String,
    },
}

impl UserInput {
    /// Plain text.
    pub fn text(text: impl Into<String>) -> UserInput {
        UserInput::Text { text: text.into() }
    }

    /// An image by URL.
    pub fn image(url: impl Into<String>) -> UserInput {
        UserInput::Image { url: url.into() }
    }

    /// An image file on the agent's machine.
    pub fn local_image(path: impl Into<PathBuf>) -> UserInput {
        UserInput::LocalImage { path: path.into() }
    }
}

/// Content that came from outside the conversation (a web page, another agent, a tool) and
/// must not be taken as the user's words: the app-server gives it to the model as the
/// output of the named tool (`toolOutput`), with a tool's authority, below the user's and
/// the developer's. It never counts as the user's approval of anything. The Python SDK's
/// `ExternalMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalMessage {
    /// The tool that delivered it, e.g. `web_fetch`; must not be empty.
    pub tool_name: String,
    /// The tool's namespace, if any.
    pub namespace: Option<String>,
    /// The content.
    pub content: ExternalContent,
}

/// What an [`ExternalMessage`] carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalContent {
    /// Text.
    Text(String),
    /// Responses API function-output content items, e.g.
    /// `{"type": "input_text", "text": …}` or `{"type": "input_image", "image_url": …}`.
    Items(Vec<Value>),
}

impl ExternalMessage {
    /// Text delivered by `tool_name`.
    pub fn text(tool_name: impl Into<String>, text: impl Into<String>) -> ExternalMessage {
        ExternalMessage {
            tool_name: tool_name.into(),
            namespace: None,
            content: ExternalContent::Text(text.into()),
        }
    }

    /// The `toolOutput` object of `turn/start`.
    pub(crate) fn to_wire(&self) -> Value {
        let output = match &self.content {
            ExternalContent::Text(text) => Value::String(text.clone()),
            ExternalContent::Items(items) => Value::Array(items.clone()),
        };
        let mut wire = Map::new();
        wire.insert("name".into(), self.tool_name.clone().into());
        if let Some(namespace) = &self.namespace {
            wire.insert("namespace".into(), namespace.clone().into());
        }
        wire.insert("output".into(), output);
        Value::Object(wire)
    }
}

/// The input of a turn. Build it from a `&str`, a `String`, one [`UserInput`], a list of
/// them, or an [`ExternalMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Items with the user's authority.
    Items(Vec<UserInput>),
    /// Content from outside, with a tool's authority (starts a turn; cannot steer one).
    External(ExternalMessage),
}

impl Default for Input {
    fn default() -> Input {
        Input::Items(Vec::new())
    }
}

impl Input {
    /// The user input items (none for an external message).
    pub fn items(&self) -> &[UserInput] {
        match self {
            Input::Items(items) => items,
            Input::External(_) => &[],
        }
    }

    /// The `input` array of `turn/start` and `turn/steer`.
    pub(crate) fn items_value(&self) -> Value {
        serde_json::to_value(self.items()).unwrap_or_else(|_| json!([]))
    }

    /// The `toolOutput` of `turn/start`, for an external message.
    pub(crate) fn tool_output(&self) -> Option<Value> {
        match self {
            Input::External(message) => Some(message.to_wire()),
            Input::Items(_) => None,
        }
    }
}

impl From<&str> for Input {
    fn from(text: &str) -> Input {
        Input::Items(vec![UserInput::text(text)])
    }
}

impl From<String> for Input {
    fn from(text: String) -> Input {
        Input::Items(vec![UserInput::Text { text }])
    }
}

impl From<&String> for Input {
    fn from(text: &String) -> Input {
        Input::from(text.as_str())
    }
}

impl From<UserInput> for Input {
    fn from(input: UserInput) -> Input {
        Input::Items(vec![input])
    }
}

impl From<Vec<UserInput>> for Input {
    fn from(inputs: Vec<UserInput>) -> Input {
        Input::Items(inputs)
    }
}

impl From<ExternalMessage> for Input {
    fn from(message: ExternalMessage) -> Input {
        Input::External(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_external_messages_take_their_own_wire_fields() {
        let items = Input::from(vec![UserInput::image("data:x"), UserInput::text("see")]);
        assert_eq!(
            items.items_value(),
            json!([{"type": "image", "url": "data:x"}, {"type": "text", "text": "see"}])
        );
        assert_eq!(items.tool_output(), None);
        let external = Input::from(ExternalMessage {
            namespace: Some("web".into()),
            ..ExternalMessage::text("fetch", "a page")
        });
        assert_eq!(external.items_value(), json!([]));
        assert_eq!(
            external.tool_output(),
            Some(json!({"name": "fetch", "namespace": "web", "output": "a page"}))
        );
    }
}
