//! The threads a run has opened, by the name its steps use: a named thread's id, and the
//! thread a `resume:` step continues. Owned by the scheduler, read when a unit is made.

use std::collections::{HashMap, HashSet};

use super::agent::ThreadOpen;
use super::spec::ThreadMode;

/// Where a unit's thread comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadSource {
    /// A thread this session has open: continue it.
    Existing(String),
    /// Open one.
    Open(ThreadOpen),
}

/// Thread ids by the name steps use.
#[derive(Debug, Default)]
pub struct ThreadBook {
    ids: HashMap<String, String>,
    /// Ids from an earlier session: opened with `thread/resume` on first use.
    reopen: HashSet<String>,
}

impl ThreadBook {
    /// The named threads an earlier session leaves to continue.
    pub fn seed(&mut self, threads: Vec<(String, String)>) {
        for (name, id) in threads {
            self.reopen.insert(id.clone());
            self.ids.insert(name, id);
        }
    }

    /// Where the next unit of a step on `mode` gets its thread; `resume_id` is the rendered
    /// id of a `resume:` step.
    pub fn source(&self, mode: &ThreadMode, resume_id: Option<String>) -> ThreadSource {
        match mode {
            ThreadMode::Fresh => ThreadSource::Open(ThreadOpen::Start),
            ThreadMode::Named(name) => match self.ids.get(name) {
                Some(id) if self.reopen.contains(id) => {
                    ThreadSource::Open(ThreadOpen::Reopen(id.clone()))
                }
                Some(id) => ThreadSource::Existing(id.clone()),
                None => ThreadSource::Open(ThreadOpen::Start),
            },
            ThreadMode::Fork(name) => match self.ids.get(name) {
                Some(id) => ThreadSource::Open(ThreadOpen::Fork(id.clone())),
                None => ThreadSource::Open(ThreadOpen::Start),
            },
            ThreadMode::Resume(_) => {
                let id = resume_id.unwrap_or_default();
                match self.ids.get(&resume_key(&id)) {
                    Some(current) => ThreadSource::Existing(current.clone()),
                    None => ThreadSource::Open(ThreadOpen::Resume(id)),
                }
            }
        }
    }

    /// The id of named thread `name` when this session has it open, to release it; any
    /// later use of the name opens it again with `thread/resume`.
    pub fn release(&mut self, name: &str) -> Option<String> {
        let id = self.ids.get(name)?;
        if self.reopen.contains(id) {
            return None;
        }
        self.reopen.insert(id.clone());
        Some(id.clone())
    }

    /// A unit of a step on `mode` ran on `thread_id`.
    pub fn record(&mut self, mode: &ThreadMode, thread_id: &str) {
        self.reopen.remove(thread_id);
        match mode {
            ThreadMode::Named(name) => {
                self.ids.insert(name.clone(), thread_id.to_string());
            }
            ThreadMode::Resume(_) => {
                self.ids
                    .insert(resume_key(thread_id), thread_id.to_string());
            }
            ThreadMode::Fresh | ThreadMode::Fork(_) => {}
        }
    }
}

fn resume_key(id: &str) -> String {
    format!("resume:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_thread_starts_then_continues_and_a_seeded_one_reopens() {
        let named = ThreadMode::Named("planner".into());
        let mut book = ThreadBook::default();
        assert_eq!(
            book.source(&named, None),
            ThreadSource::Open(ThreadOpen::Start)
        );
        book.record(&named, "t1");
        assert_eq!(
            book.source(&named, None),
            ThreadSource::Existing("t1".into())
        );
        let fork = ThreadMode::Fork("planner".into());
        assert_eq!(
            book.source(&fork, None),
            ThreadSource::Open(ThreadOpen::Fork("t1".into()))
        );
        let mut seeded = ThreadBook::default();
        seeded.seed(vec![("planner".into(), "old".into())]);
        assert_eq!(
            seeded.source(&named, None),
            ThreadSource::Open(ThreadOpen::Reopen("old".into()))
        );
        seeded.record(&named, "old");
        assert_eq!(
            seeded.source(&named, None),
            ThreadSource::Existing("old".into())
        );
        assert_eq!(seeded.release("planner").as_deref(), Some("old"));
        assert_eq!(seeded.release("planner"), None, "released once");
        assert_eq!(
            seeded.source(&named, None),
            ThreadSource::Open(ThreadOpen::Reopen("old".into())),
            "a released thread opens again by id"
        );
    }
}
