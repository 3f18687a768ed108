//! One reporter fans every event out to several writers.

use crate::engine::event::RunEvent;

/// Something that renders run events.
pub trait EventWriter: Send {
    fn write_event(&mut self, event: &RunEvent);
}

/// Passes each event to every writer, in order.
#[derive(Default)]
pub struct Reporter {
    writers: Vec<Box<dyn EventWriter>>,
}

impl Reporter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, writer: impl EventWriter + 'static) {
        self.writers.push(Box::new(writer));
    }

    pub fn write_event(&mut self, event: &RunEvent) {
        for w in &mut self.writers {
            w.write_event(event);
        }
    }
}
