//! JSON Lines: one event per line, as `RunEvent` serializes it.

use std::io::Write;

use super::{EventWriter, ReportError};
use crate::engine::event::RunEvent;

/// Writes every event as one JSON line and flushes, so that a reader can follow it live.
pub struct JsonLines<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write + Send> EventWriter for JsonLines<W> {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if let Ok(line) = serde_json::to_string(event) {
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
        Ok(())
    }
}
