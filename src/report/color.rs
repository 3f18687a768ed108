//! Colour for stderr: ANSI styles when enabled (`--color`, `NO_COLOR`), plain text otherwise.

use crate::engine::event::Status;

/// Whether to colour, and the styles weft uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors {
    pub enabled: bool,
}

impl Colors {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// `text` in the colour of `status`: green, red, yellow, dim or cyan (waiting).
    pub fn status(self, status: Status, text: &str) -> String {
        match status {
            Status::Succeeded => self.paint("32", text),
            Status::Failed => self.paint("31", text),
            Status::Interrupted => self.paint("33", text),
            Status::Skipped => self.paint("2", text),
            Status::Waiting => self.paint("36", text),
        }
    }
}
