//! Which turn runs on which thread right now: the agent fills it, and a model proxy
//! (record and replay) reads it to tell which step a model request belongs to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::agent::TurnLabel;

/// Thread id → the label of the turn running on it. Cheap to clone; clones share.
///
/// A thread runs one turn at a time, so while a turn runs, every model request that
/// carries its thread id (codex sends it in the `thread-id` header) is that turn's.
#[derive(Debug, Clone, Default)]
pub struct ActiveTurns(Arc<Mutex<HashMap<String, TurnLabel>>>);

impl ActiveTurns {
    /// A turn labelled `label` starts on `thread_id`.
    pub fn begin(&self, thread_id: &str, label: TurnLabel) {
        self.lock().insert(thread_id.to_string(), label);
    }

    /// The turn on `thread_id` is over.
    pub fn end(&self, thread_id: &str) {
        self.lock().remove(thread_id);
    }

    /// The label of the turn running on `thread_id`, if one is.
    pub fn get(&self, thread_id: &str) -> Option<TurnLabel> {
        self.lock().get(thread_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TurnLabel>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_table_and_end_forgets() {
        let turns = ActiveTurns::default();
        let reader = turns.clone();
        let label = TurnLabel {
            step: "plan".into(),
            index: None,
            iteration: None,
            attempt: 1,
        };
        turns.begin("t1", label.clone());
        assert_eq!(reader.get("t1"), Some(label));
        assert_eq!(reader.get("t2"), None);
        turns.end("t1");
        assert_eq!(reader.get("t1"), None);
    }
}
