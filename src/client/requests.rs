//! Requests the app-server sends the client (approvals, user input, ...), the caller's
//! handler for them, and the wire reply each decision becomes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde_json::{Value, json};

use super::items::{CommandAction, FileUpdate, ThreadItem};

/// A boxed future, the return type of [`ServerRequestHandler::handle`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request from the app-server that needs an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRequest {
    /// The server's request id (its own id space, separate from the client's).
    pub id: Value,
    /// The method, e.g. `item/commandExecution/requestApproval`.
    pub method: String,
    /// The thread it concerns, if any.
    pub thread_id: Option<String>,
    /// The turn it concerns, if any.
    pub turn_id: Option<String>,
    /// The item it concerns, if any.
    pub item_id: Option<String>,
    /// The typed view of the known request types.
    pub kind: ServerRequestKind,
    /// The item with `item_id` as last announced by `item/started` on a turn this client
    /// drives (a file change's paths are only there), if seen.
    pub item: Option<ThreadItem>,
    /// The params exactly as sent.
    pub params: Value,
}

/// The typed part of a [`ServerRequest`].
#[derive(Debug, Clone, PartialEq)]
pub enum ServerRequestKind {
    /// `item/commandExecution/requestApproval`.
    CommandApproval {
        /// The command that will run, its argument list quoted, e.g. `/bin/bash -lc 'cargo test'`.
        command: Option<String>,
        /// Where it would run.
        cwd: Option<PathBuf>,
        /// codex's summary of the command for display (`commandActions[].command`): it
        /// leaves out pipeline stages and folds `cd` away, so decide on `command`, never on it.
        command_actions: Vec<CommandAction>,
        /// Why the agent asks.
        reason: Option<String>,
    },
    /// `item/fileChange/requestApproval`.
    FileChangeApproval {
        /// The files the change touches (from the announced `fileChange` item): each
        /// changed path, and the destination of each move.
        paths: Vec<PathBuf>,
        /// Why the agent asks.
        reason: Option<String>,
        /// A root the agent wants write access under for the session.
        grant_root: Option<PathBuf>,
    },
    /// `item/permissions/requestApproval`.
    PermissionsApproval {
        /// The requested permission profile, as sent.
        permissions: Value,
        /// Why the agent asks.
        reason: Option<String>,
    },
    /// `item/tool/requestUserInput`.
    UserInput {
        /// The questions, as sent (`id`, `header`, `question`, `options`).
        questions: Vec<Value>,
    },
    /// Anything else; read [`ServerRequest::params`].
    Other,
}

/// The caller's decision on a [`ServerRequest`]; the client turns it into the reply shape
/// that request type expects.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerResponse {
    /// Allow it (this time).
    Accept,
    /// Allow it and similar requests for the rest of the session.
    AcceptForSession,
    /// Refuse it; the turn goes on without it.
    Decline,
    /// Refuse it and stop the turn.
    Cancel,
    /// Answers to a user-input request, by question id.
    Answers(BTreeMap<String, Vec<String>>),
    /// This exact `result` object.
    Result(Value),
    /// A JSON-RPC error reply.
    Error {
        /// The error code.
        code: i64,
        /// The message.
        message: String,
    },
}

/// Answers the app-server's requests. Implementations must answer every request: the
/// server waits without a timeout.
pub trait ServerRequestHandler: Send + Sync {
    /// Decide on one request.
    fn handle(&self, request: ServerRequest) -> BoxFuture<'_, ServerResponse>;
}

/// The default handler: declines every request, so no turn ever waits for an answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeclineAll;

impl ServerRequestHandler for DeclineAll {
    fn handle(&self, _request: ServerRequest) -> BoxFuture<'_, ServerResponse> {
        Box::pin(async { ServerResponse::Decline })
    }
}

/// A handler made from an async closure; see [`handler_fn`].
pub struct FnHandler<F>(F);

/// Make a [`ServerRequestHandler`] from `|request| async move { ... }`.
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(ServerRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ServerResponse> + Send + 'static,
{
    FnHandler(f)
}

impl<F, Fut> ServerRequestHandler for FnHandler<F>
where
    F: Fn(ServerRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ServerResponse> + Send + 'static,
{
    fn handle(&self, request: ServerRequest) -> BoxFuture<'_, ServerResponse> {
        Box::pin((self.0)(request))
    }
}

impl ServerRequest {
    /// Build the request from its wire parts and the item it points at, if known.
    pub(crate) fn new(id: Value, method: String, params: Value, item: Option<ThreadItem>) -> Self {
        let text = |key: &str| params.get(key).and_then(Value::as_str).map(str::to_owned);
        let kind = match method.as_str() {
            "item/commandExecution/requestApproval" => ServerRequestKind::CommandApproval {
                command: text("command"),
                cwd: text("cwd").map(PathBuf::from),
                command_actions: serde_json::from_value(params["commandActions"].clone())
                    .unwrap_or_default(),
                reason: text("reason"),
            },
            "item/fileChange/requestApproval" => ServerRequestKind::FileChangeApproval {
                paths: item
                    .as_ref()
                    .and_then(ThreadItem::as_file_change)
                    .map(|c| c.changes.iter().flat_map(touched_paths).collect())
                    .unwrap_or_default(),
                reason: text("reason"),
                grant_root: text("grantRoot").map(PathBuf::from),
            },
            "item/permissions/requestApproval" => ServerRequestKind::PermissionsApproval {
                permissions: params["permissions"].clone(),
                reason: text("reason"),
            },
            "item/tool/requestUserInput" => ServerRequestKind::UserInput {
                questions: params["questions"].as_array().cloned().unwrap_or_default(),
            },
            _ => ServerRequestKind::Other,
        };
        ServerRequest {
            id,
            thread_id: text("threadId").or_else(|| text("conversationId")),
            turn_id: text("turnId"),
            item_id: text("itemId"),
            method,
            kind,
            item,
            params,
        }
    }

    /// The reply to send: `Ok(result)` or `Err((code, message))`.
    pub(crate) fn reply(&self, response: ServerResponse) -> Result<Value, (i64, String)> {
        use ServerResponse::*;
        let refuse = || {
            Err((
                -32601,
                format!("`{}` is not handled by this client", self.method),
            ))
        };
        match (self.method.as_str(), response) {
            (_, Result(value)) => Ok(value),
            (_, Error { code, message }) => Err((code, message)),
            ("item/commandExecution/requestApproval" | "item/fileChange/requestApproval", r) => {
                Ok(json!({"decision": approval_decision(&r)}))
            }
            ("item/permissions/requestApproval", r) => Ok(self.permissions_reply(&r)),
            ("item/tool/requestUserInput", Answers(answers)) => {
                let answers: BTreeMap<_, _> = answers
                    .into_iter()
                    .map(|(id, texts)| (id, json!({"answers": texts})))
                    .collect();
                Ok(json!({"answers": answers}))
            }
            ("item/tool/requestUserInput", _) => Ok(json!({"answers": {}})),
            ("item/tool/call", _) => Ok(json!({"contentItems": [], "success": false})),
            ("mcpServer/elicitation/request", r) => Ok(json!({"action": elicitation_action(&r)})),
            ("applyPatchApproval" | "execCommandApproval", r) => {
                Ok(json!({"decision": legacy_decision(&r)}))
            }
            _ => refuse(),
        }
    }

    fn permissions_reply(&self, response: &ServerResponse) -> Value {
        match response {
            ServerResponse::Accept => {
                json!({"permissions": self.params["permissions"], "scope": "turn"})
            }
            ServerResponse::AcceptForSession => {
                json!({"permissions": self.params["permissions"], "scope": "session"})
            }
            _ => json!({"permissions": {}, "scope": "turn"}),
        }
    }
}

/// The paths one file update writes: its path and, for a move, the destination.
fn touched_paths(update: &FileUpdate) -> Vec<PathBuf> {
    let moved = update.kind["move_path"].as_str();
    std::iter::once(update.path.clone())
        .chain(moved.map(PathBuf::from))
        .collect()
}

fn approval_decision(response: &ServerResponse) -> &'static str {
    match response {
        ServerResponse::Accept => "accept",
        ServerResponse::AcceptForSession => "acceptForSession",
        ServerResponse::Cancel => "cancel",
        _ => "decline",
    }
}

fn elicitation_action(response: &ServerResponse) -> &'static str {
    match response {
        ServerResponse::Accept | ServerResponse::AcceptForSession => "accept",
        ServerResponse::Cancel => "cancel",
        _ => "decline",
    }
}

fn legacy_decision(response: &ServerResponse) -> Value {
    match response {
        ServerResponse::Accept => json!("approved"),
        ServerResponse::AcceptForSession => json!("approved_for_session"),
        ServerResponse::Cancel => json!("abort"),
        _ => json!({"denied": {"rejection": "declined by the client"}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, params: Value) -> ServerRequest {
        ServerRequest::new(json!(0), method.into(), params, None)
    }

    #[test]
    fn a_file_change_names_every_path_it_writes() {
        let item = ThreadItem::from_value(json!({"type": "fileChange", "id": "i", "changes": [
            {"path": "/w/a.rs", "kind": {"type": "add"}, "diff": ""},
            {"path": "/w/b.rs", "kind": {"type": "update", "move_path": "/etc/b.rs"}, "diff": ""}]}));
        let request = ServerRequest::new(
            json!(1),
            "item/fileChange/requestApproval".into(),
            json!({"threadId": "t", "itemId": "i"}),
            Some(item),
        );
        let ServerRequestKind::FileChangeApproval { paths, .. } = request.kind else {
            panic!("not a file change: {:?}", request.kind);
        };
        let expected: Vec<PathBuf> = ["/w/a.rs", "/w/b.rs", "/etc/b.rs"]
            .map(PathBuf::from)
            .into();
        assert_eq!(paths, expected);
    }

    #[test]
    fn each_request_type_gets_its_own_reply_shape() {
        let command = request(
            "item/commandExecution/requestApproval",
            json!({"threadId": "t", "turnId": "u", "itemId": "i", "command": "/bin/bash -lc 'ls'",
                   "commandActions": [{"type": "listFiles", "command": "ls", "path": null}]}),
        );
        let ServerRequestKind::CommandApproval {
            command_actions, ..
        } = &command.kind
        else {
            panic!("not a command approval: {:?}", command.kind);
        };
        assert_eq!(command_actions[0].command, "ls");
        assert_eq!(
            command.reply(ServerResponse::Accept),
            Ok(json!({"decision": "accept"}))
        );
        let input = request("item/tool/requestUserInput", json!({"questions": []}));
        assert_eq!(
            input.reply(ServerResponse::Decline),
            Ok(json!({"answers": {}}))
        );
        let legacy = request("execCommandApproval", json!({"conversationId": "t"}));
        assert_eq!(legacy.thread_id.as_deref(), Some("t"));
        assert_eq!(
            legacy.reply(ServerResponse::Accept),
            Ok(json!({"decision": "approved"}))
        );
        let unknown = request("account/chatgptAuthTokens/refresh", json!({}));
        assert_eq!(
            unknown.reply(ServerResponse::Decline).unwrap_err().0,
            -32601
        );
    }
}
