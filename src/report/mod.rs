//! Reporters: they turn run events into what people and tools read.

mod fanout;
mod jsonl;
mod plain;

pub use fanout::{EventWriter, Reporter};
pub use jsonl::JsonLines;
pub use plain::Plain;
