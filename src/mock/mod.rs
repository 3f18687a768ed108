//! A mock model server speaking the Responses API subset codex uses, for tests and demos.
//!
//! [`MockModel::start`] listens on 127.0.0.1 and answers `POST /v1/responses` with SSE
//! (`response.created`, `output_item.added`, `output_text.delta`…, `output_item.done`,
//! `response.completed` with usage), as a script decides per request.
//! [`write_codex_home`] writes an isolated `CODEX_HOME` whose provider is the mock.

mod home;
mod reply;
mod request;
mod server;

pub use home::{MockHome, write_codex_home};
pub use reply::{MOCK_USAGE, MockReply};
pub(crate) use reply::{frame, response_events};
pub use request::MockRequest;
pub use server::MockModel;
