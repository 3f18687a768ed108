//! Reporters: they turn run events into what people and tools read.

mod fanout;
mod jsonl;
mod plain;
mod record;

pub use fanout::{EventWriter, Reporter};
pub use jsonl::JsonLines;
pub use plain::Plain;
pub use record::{RunRecorder, RunState, write_atomic};
