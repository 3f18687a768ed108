//! The client's typed errors: transport, JSON-RPC, turn and watchdog failures kept apart.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::items::TurnError;

/// JSON-RPC code the app-server sends when its ingress queue is full.
pub const CODE_OVERLOADED: i64 = -32001;
/// JSON-RPC "invalid request"; the app-server uses it for almost every rejection.
pub const CODE_INVALID_REQUEST: i64 = -32600;
/// JSON-RPC "method not found".
pub const CODE_METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC "invalid params".
pub const CODE_INVALID_PARAMS: i64 = -32602;

/// Everything that can go wrong talking to `codex app-server`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The codex binary could not be found or started.
    #[error("cannot start `{}`: {source}", bin.display())]
    Spawn {
        /// The binary we tried to run.
        bin: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// The server is overloaded (-32001); retry with backoff.
    #[error("server overloaded: {message}")]
    Overloaded {
        /// The server's message.
        message: String,
        /// The error's `data`, when the server sent one.
        data: Option<Value>,
    },
    /// The server does not know the method.
    #[error("method not found: {message}")]
    MethodNotFound {
        /// The server's message.
        message: String,
    },
    /// The method exists but its params were rejected (missing field, bad type, bad enum value).
    #[error("invalid params: {message}")]
    InvalidParams {
        /// The server's message.
        message: String,
    },
    /// The request was rejected for another reason (not initialized, no active turn, ...).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// The server's message.
        message: String,
    },
    /// Any other JSON-RPC error.
    #[error("json-rpc error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// The server's message.
        message: String,
        /// The error's `data`, if any.
        data: Option<Value>,
    },
    /// The app-server exited or closed its stdout.
    #[error("app-server exited ({status}){}", stderr_suffix(stderr_tail))]
    ProcessExited {
        /// How it ended, e.g. `exit status: 1` or `signal: 9 (SIGKILL)`; `unknown` when not known.
        status: String,
        /// The last lines it wrote to stderr.
        stderr_tail: String,
    },
    /// The client was closed by its owner.
    #[error("client closed")]
    Closed,
    /// The peer broke the protocol (a line that is not JSON, a reply of the wrong shape).
    #[error("protocol error: {message}")]
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// A turn ended with status `failed`.
    #[error("turn `{turn_id}` failed: {}", error.message)]
    TurnFailed {
        /// The failed turn.
        turn_id: String,
        /// The server's description of the failure (boxed to keep `Error` small).
        error: Box<TurnError>,
    },
    /// A turn produced no event for `idle`, so the client gave up on it.
    #[error("turn `{turn_id}` timed out: no event for {idle:?}")]
    Watchdog {
        /// The turn given up on.
        turn_id: String,
        /// The idle limit that passed.
        idle: Duration,
    },
    /// The app-server closed (unloaded) the thread while one of its turns was running.
    #[error("the app-server closed thread `{thread_id}` while turn `{turn_id}` was running")]
    ThreadClosed {
        /// The closed thread.
        thread_id: String,
        /// The turn that was running on it.
        turn_id: String,
    },
    /// A request got no reply in time.
    #[error("`{method}` got no reply within {after:?}")]
    RequestTimeout {
        /// The method called.
        method: String,
        /// The limit that passed.
        after: Duration,
    },
    /// Reading or writing the pipes failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

fn stderr_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr:\n{}", tail.trim_end())
    }
}

impl Error {
    /// Whether retrying the same call later may succeed: only overload (-32001) is.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Overloaded { .. })
    }

    /// The JSON-RPC error code, for errors that came from the server as one.
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            Error::Overloaded { .. } => Some(CODE_OVERLOADED),
            Error::MethodNotFound { .. } => Some(CODE_METHOD_NOT_FOUND),
            Error::InvalidParams { .. } => Some(CODE_INVALID_PARAMS),
            Error::InvalidRequest { .. } => Some(CODE_INVALID_REQUEST),
            Error::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Classify a JSON-RPC error object from the server.
    ///
    /// The app-server answers -32600 for unknown methods and bad params alike, so the
    /// message decides: "unknown variant `x`, expected one of `initialize`, ..." is an
    /// unknown method; serde's "missing field", "invalid type", "unknown variant" and
    /// "invalid value" are bad params.
    pub fn from_rpc(code: i64, message: String, data: Option<Value>) -> Error {
        match code {
            CODE_OVERLOADED => Error::Overloaded { message, data },
            CODE_METHOD_NOT_FOUND => Error::MethodNotFound { message },
            CODE_INVALID_PARAMS => Error::InvalidParams { message },
            CODE_INVALID_REQUEST if is_unknown_method(&message) => {
                Error::MethodNotFound { message }
            }
            CODE_INVALID_REQUEST if is_bad_params(&message) => Error::InvalidParams { message },
            CODE_INVALID_REQUEST => Error::InvalidRequest { message },
            _ => Error::Rpc {
                code,
                message,
                data,
            },
        }
    }
}

fn is_unknown_method(message: &str) -> bool {
    message.contains("unknown variant") && message.contains("expected one of `initialize`")
}

fn is_bad_params(message: &str) -> bool {
    const SERDE: [&str; 6] = [
        "missing field",
        "invalid type",
        "unknown variant",
        "invalid value",
        "invalid length",
        "unknown field",
    ];
    SERDE.iter().any(|needle| message.contains(needle))
}

/// Why a connection ended; cloned to every caller still waiting on it.
#[derive(Debug, Clone)]
pub(crate) enum CloseReason {
    Exited { status: String, stderr_tail: String },
    Protocol(String),
    Closed,
}

impl From<CloseReason> for Error {
    fn from(reason: CloseReason) -> Error {
        match reason {
            CloseReason::Exited {
                status,
                stderr_tail,
            } => Error::ProcessExited {
                status,
                stderr_tail,
            },
            CloseReason::Protocol(message) => Error::Protocol { message },
            CloseReason::Closed => Error::Closed,
        }
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_servers_32600_messages() {
        let unknown = "Invalid request: unknown variant `foo/bar`, expected one of `initialize`, `thread/start`";
        assert!(matches!(
            Error::from_rpc(-32600, unknown.into(), None),
            Error::MethodNotFound { .. }
        ));
        let bad_enum = "Invalid request: unknown variant `bogus`, expected one of `untrusted`";
        assert!(matches!(
            Error::from_rpc(-32600, bad_enum.into(), None),
            Error::InvalidParams { .. }
        ));
        let missing = "Invalid request: missing field `threadId`";
        assert!(matches!(
            Error::from_rpc(-32600, missing.into(), None),
            Error::InvalidParams { .. }
        ));
        let other = "no active turn to interrupt";
        assert!(matches!(
            Error::from_rpc(-32600, other.into(), None),
            Error::InvalidRequest { .. }
        ));
        let busy = Error::from_rpc(-32001, "Server overloaded; retry later.".into(), None);
        assert!(busy.is_retryable());
        assert!(matches!(
            Error::from_rpc(-32099, "x".into(), None),
            Error::Rpc { code: -32099, .. }
        ));
    }
}
