//! Record and replay the model: cassettes of every model request of a run and its answer,
//! the local provider that records them (forwarding to the real one) or replays them, the
//! Responses API wire format it speaks, and the isolated `CODEX_HOME` a replay runs in.

mod diff;
mod format;
mod home;
mod provider;
mod record;
mod redaction;
mod replay;
mod server;
mod sse;
pub mod wire;

pub use diff::{json_diff, labeled_diff, text_diff};
pub use format::{
    Answer, CASSETTE_VERSION, Cassette, CassetteError, Exchange, ExchangeKey, stabilize,
};
pub use home::IsolatedHome;
pub use provider::{ProviderError, RecordTarget, probe, target, toml_inline};
pub use record::Upstream;
pub use replay::{Mismatch, Replay};
pub use server::{TapeLog, TapeMode, TapeServer};
pub use sse::SseCollector;
