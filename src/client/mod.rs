//! The `codex app-server` client: spawn the server, run threads and turns over JSON-RPC.
//!
//! See the README section "The client library" for a walkthrough.

mod account;
mod app_server;
pub mod diagnose;
mod error;
mod events;
mod input;
mod items;
mod models;
mod options;
mod protocol;
mod release;
mod requests;
mod retry;
mod rpc;
mod thread;
mod transport;
mod turn;

pub use account::{Account, AccountInfo, LoginCompleted, LoginHandle};
pub use app_server::{Client, ClientConfig, ThreadList};
pub use error::{
    CODE_INVALID_PARAMS, CODE_INVALID_REQUEST, CODE_METHOD_NOT_FOUND, CODE_OVERLOADED, Error,
    Result,
};
pub use events::{TurnEvent, TurnResult};
pub use input::{ExternalContent, ExternalMessage, Input, UserInput};
pub use items::{
    AgentMessage, CommandAction, CommandExecution, FileChange, FileUpdate, ItemDetails, ThreadInfo,
    ThreadItem, TokenBreakdown, TokenUsage, TurnError, TurnInfo, TurnStatus, final_response,
};
pub use models::{ModelInfo, ModelList, ModelListOptions};
pub use options::{ThreadListOptions, ThreadOptions, TurnOptions};
pub use protocol::{
    ApprovalPolicy, NetworkAccess, ReasoningEffort, SandboxMode, SandboxPolicy, SortDirection,
    ThreadSortKey, ThreadSourceKind,
};
pub use release::Unsubscribed;
pub use requests::{
    BoxFuture, DeclineAll, FnHandler, ServerRequest, ServerRequestHandler, ServerRequestKind,
    ServerResponse, handler_fn,
};
pub use retry::{RetryPolicy, retry_on_overload};
pub use thread::Thread;
pub use turn::{TurnController, TurnHandle};
