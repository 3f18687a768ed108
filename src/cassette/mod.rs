//! Record and replay the model: cassettes of every model request of a run and its answer,
//! and the local provider that records them (forwarding to the real one) or replays them.

mod diff;
mod format;
mod provider;
mod record;
mod replay;
mod server;
mod sse;

pub use diff::{json_diff, labeled_diff, text_diff};
pub use format::{
    Answer, CASSETTE_VERSION, Cassette, CassetteError, Exchange, ExchangeKey, stabilize,
};
pub use provider::{ProviderError, RecordTarget, probe, target, toml_inline};
pub use record::Upstream;
pub use replay::{Mismatch, Replay};
pub use server::{TapeLog, TapeMode, TapeServer};
pub use sse::SseCollector;
