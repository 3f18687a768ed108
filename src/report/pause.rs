//! [`LivePause`]: a handle on the live view that hides it while a person answers a
//! question on the terminal (a gate), so the bars do not draw over what they type; lines
//! the run prints meanwhile are held, and printed when the view comes back.

use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressDrawTarget};

/// Pauses and resumes a live view; clones share it.
#[derive(Clone)]
pub struct LivePause {
    multi: MultiProgress,
    held: Arc<Mutex<Held>>,
}

#[derive(Default)]
struct Held {
    paused: bool,
    lines: Vec<String>,
}

impl LivePause {
    pub(super) fn new(multi: MultiProgress) -> Self {
        Self {
            multi,
            held: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Clears the bars from the terminal and stops drawing them.
    pub fn pause(&self) {
        let mut held = self.lock();
        if held.paused {
            return;
        }
        held.paused = true;
        let _ = self.multi.clear();
        self.multi.set_draw_target(ProgressDrawTarget::hidden());
    }

    /// Draws the bars on stderr again, after the lines held meanwhile.
    pub fn resume(&self) {
        let lines = {
            let mut held = self.lock();
            if !held.paused {
                return;
            }
            held.paused = false;
            std::mem::take(&mut held.lines)
        };
        self.multi.set_draw_target(ProgressDrawTarget::stderr());
        for line in lines {
            let _ = self.multi.println(line);
        }
    }

    /// Prints `text` above the bars, or holds it while paused.
    pub(super) fn println(&self, text: String) {
        let mut held = self.lock();
        if held.paused {
            held.lines.push(text);
            return;
        }
        drop(held);
        let _ = self.multi.println(text);
    }
}
