//! The mock model (feature `testing`): a test double of a model provider speaking the
//! Responses API subset codex uses, so that tests (and users testing code built on
//! [`crate::client`]) run the real `codex app-server` offline.
//!
//! [`MockModel::start`] listens on 127.0.0.1 and answers `POST /v1/responses` with SSE
//! (`response.created`, `output_item.added`, `output_text.delta`…, `output_item.done`,
//! `response.completed` with usage), as a script decides per request; it logs every
//! request ([`MockRequest`]). [`crate::cassette::IsolatedHome`] writes a `CODEX_HOME`
//! whose provider is the mock.

mod reply;
mod request;
mod server;

pub use reply::{MOCK_USAGE, MockReply};
pub use request::MockRequest;
pub use server::MockModel;
