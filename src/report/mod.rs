//! Reporters: they turn run events into what people and tools read, and keep the run record.

mod atomic;
mod color;
mod elements;
mod fanout;
mod github;
mod jsonl;
mod junit;
mod pause;
mod plain;
mod progress;
mod record;
mod redaction;
mod report_error;
mod run_diff;
mod saver;
mod shard_record;
mod shared;
mod state;
mod store;
pub mod summary;

pub use crate::vocab::now_ms;
pub use atomic::{temp_path, write_atomic};
pub use color::Colors;
pub use elements::{ELEMENTS_DIR, elements_file};
pub use fanout::{EventWriter, Reporter};
pub use github::GithubActions;
pub use jsonl::JsonLines;
pub use junit::Junit;
pub use pause::LivePause;
pub use plain::{Plain, line as plain_line};
pub use progress::Live;
pub use record::RunRecorder;
pub use redaction::EventRedactor;
pub use report_error::ReportError;
pub use run_diff::{RunDiff, Side, UnitDiff};
pub use shard_record::ShardRecord;
pub use shared::SharedWriter;
pub use state::{
    EVENTS_FILE, FILES_DIR, RECORD_VERSION, RecordError, RecordStatus, RecordedOptions, RunState,
    STATE_FILE, StepEntry, WORKFLOW_FILE,
};
pub use store::{RunStore, process_alive};
