//! One reporter fans every event out to several writers; what a writer cannot do (save the
//! record, write the JUnit file) comes back as a warning on the reporter's warnings writer.
//! With secrets, every event is masked before any writer sees it ([`EventRedactor`]).

use std::io::Write;

use super::redaction::EventRedactor;
use super::report_error::ReportError;
use crate::engine::event::RunEvent;
use crate::redact::Redactor;

/// Something that renders run events.
pub trait EventWriter: Send {
    /// Renders `event`; an error is reported as a warning and the run goes on.
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError>;
}

/// Passes each event to every writer, in order.
pub struct Reporter<'a> {
    writers: Vec<Box<dyn EventWriter + 'a>>,
    warnings: Box<dyn Write + Send + 'a>,
    redaction: EventRedactor,
}

impl<'a> Reporter<'a> {
    /// A reporter whose writers' failures are written to `warnings` (`warning: …`).
    pub fn new(warnings: impl Write + Send + 'a) -> Self {
        Self {
            writers: Vec::new(),
            warnings: Box::new(warnings),
            redaction: EventRedactor::default(),
        }
    }

    /// Masks `redactor`'s secrets in every event before any writer sees it.
    pub fn redact_with(&mut self, redactor: Redactor) {
        self.redaction = EventRedactor::new(redactor);
    }

    pub fn add(&mut self, writer: impl EventWriter + 'a) {
        self.writers.push(Box::new(writer));
    }

    pub fn write_event(&mut self, event: &RunEvent) {
        if self.redaction.is_empty() {
            self.fan_out(event);
            return;
        }
        for masked in self.redaction.apply(event) {
            self.fan_out(&masked);
        }
    }

    fn fan_out(&mut self, event: &RunEvent) {
        for w in &mut self.writers {
            if let Err(e) = w.write_event(event) {
                let _ = writeln!(self.warnings, "warning: {e}");
            }
        }
    }
}
