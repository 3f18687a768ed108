//! The run record: `<runs-dir>/<run-id>/run.json` (the run's [`RunState`], rewritten
//! atomically whenever a step starts or finishes) and `events.jsonl` (every event, appended).
//!
//! `run.json` is written by a [`Saver`] thread, newest state first, so that the run never
//! waits on fsync; the end of the run waits until the final state is on disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::atomic::write_atomic;
use super::saver::Saver;
use super::state::{EVENTS_FILE, RecordStatus, RunState, STATE_FILE, StepEntry};
use super::{EventWriter, ReportError};
use crate::engine::IterationRecord;
use crate::engine::event::RunEvent;

/// Keeps the run record up to date from the run's events.
pub struct RunRecorder {
    dir: PathBuf,
    state: RunState,
    events: Option<File>,
    /// Time run in earlier sessions.
    earlier_ms: u64,
    saver: Saver,
}

impl RunRecorder {
    /// Creates `dir` (if needed) and writes `state`, for a new run or a resumed one
    /// (whose events are appended to the existing log).
    pub fn create(dir: &Path, state: RunState) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let events = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(EVENTS_FILE))?;
        let text = serde_json::to_vec_pretty(&state).map_err(io::Error::other)?;
        write_atomic(&dir.join(STATE_FILE), &text)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            earlier_ms: state.duration_ms.unwrap_or(0),
            state,
            events: Some(events),
            saver: Saver::new(dir.join(STATE_FILE))?,
        })
    }

    /// The directory of the record.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until the newest state is on disk.
    pub fn flush(&self) -> io::Result<()> {
        self.saver.flush()
    }

    /// Hands the current state to the saver; at the end of the run, waits until it is
    /// on disk and says so if it could not be written.
    fn save(&self, last: bool) -> Result<(), ReportError> {
        if let Ok(text) = serde_json::to_vec_pretty(&self.state) {
            self.saver.submit(text);
        }
        if last {
            self.saver.flush().map_err(|source| ReportError {
                what: format!("cannot save the run record in {}", self.dir.display()),
                source,
            })?;
        }
        Ok(())
    }

    /// Updates the state; true when it changed in a way worth saving.
    fn apply(&mut self, event: &RunEvent) -> bool {
        match event {
            RunEvent::StepStarted { step, index, .. } => {
                started(unit_entry(self.state.step_mut(step), *index, true), event);
            }
            RunEvent::IterationFinished { step, index, .. } => {
                iterated(unit_entry(self.state.step_mut(step), *index, false), event);
            }
            RunEvent::GateWaiting {
                step,
                index,
                question,
            } => {
                let entry = unit_entry(self.state.step_mut(step), *index, false);
                entry.status = RecordStatus::Waiting;
                entry.prompt = Some(question.clone());
            }
            RunEvent::StepFinished { step, index, .. } => {
                finished(unit_entry(self.state.step_mut(step), *index, false), event);
            }
            RunEvent::RunFinished {
                status,
                duration_ms,
                usage,
            } => {
                self.state.status = RecordStatus::from(*status);
                self.state.duration_ms = Some(self.earlier_ms + duration_ms);
                self.state.usage = *usage;
                self.state.pid = None;
            }
            _ => return false,
        }
        true
    }
}

/// A unit's attempt started: its first attempt starts its entry afresh, but a loop's
/// later iteration keeps the iterations before it.
fn started(entry: &mut StepEntry, event: &RunEvent) {
    let RunEvent::StepStarted {
        step,
        index,
        thread_id,
        attempt,
        prompt,
        kind,
        iteration,
    } = event
    else {
        return;
    };
    match (*attempt, *iteration) {
        (0 | 1, Some(n)) if n > 1 => {
            entry.iterations.retain(|it| it.number < n);
            entry.prompt = prompt.clone();
        }
        (0 | 1, _) => {
            *entry = StepEntry::new(step, *index);
            entry.prompt = prompt.clone();
            entry.started_at_ms = Some(now_ms());
        }
        _ => {}
    }
    entry.status = RecordStatus::Running;
    entry.kind = *kind;
    if thread_id.is_some() {
        entry.thread_id = thread_id.clone();
    }
    entry.attempts = *attempt;
}

/// A loop's iteration finished: kept in order (replacing an earlier try of it).
fn iterated(entry: &mut StepEntry, event: &RunEvent) {
    let RunEvent::IterationFinished {
        iteration,
        status,
        error,
        output,
        duration_ms,
        usage,
        thread_id,
        attempts,
        ended,
        ..
    } = event
    else {
        return;
    };
    entry.iterations.retain(|it| it.number != *iteration);
    entry.iterations.push(IterationRecord {
        number: *iteration,
        status: *status,
        output: output.clone(),
        error: error.clone(),
        usage: *usage,
        thread_id: thread_id.clone(),
        attempts: *attempts,
        duration_ms: *duration_ms,
        ended: *ended,
    });
    entry.iterations.sort_by_key(|it| it.number);
}

/// A unit (or a step) ended; a step kept from an earlier session keeps what it had.
fn finished(entry: &mut StepEntry, event: &RunEvent) {
    let RunEvent::StepFinished {
        status,
        error,
        output,
        duration_ms,
        usage,
        thread_id,
        attempts,
        reused,
        kind,
        exit_code,
        stderr,
        patch,
        ..
    } = event
    else {
        return;
    };
    entry.status = RecordStatus::from(*status);
    if *reused {
        entry.reused = true;
        return;
    }
    entry.reused = false;
    entry.kind = *kind;
    entry.exit_code = exit_code.clone();
    entry.stderr = stderr.clone();
    entry.error = error.clone();
    entry.output = output.clone().unwrap_or_default();
    entry.duration_ms = Some(*duration_ms);
    entry.usage = *usage;
    entry.attempts = *attempts;
    entry.patch = patch.as_deref().cloned();
    if thread_id.is_some() {
        entry.thread_id = thread_id.clone();
    }
}

/// The entry of a step (`index` none) or of one of its elements. On a step's first
/// start in this session its old elements are dropped (but for their loops' iterations,
/// which a resumed loop continues after).
fn unit_entry(entry: &mut StepEntry, index: Option<usize>, starting: bool) -> &mut StepEntry {
    let Some(ix) = index else { return entry };
    if starting && entry.status != RecordStatus::Running {
        let id = entry.id.clone();
        let old = std::mem::take(&mut entry.elements);
        *entry = StepEntry::new(&id, None);
        entry.started_at_ms = Some(now_ms());
        entry.elements = old
            .into_iter()
            .filter(|e| !e.iterations.is_empty())
            .map(|e| StepEntry {
                iterations: e.iterations,
                ..StepEntry::new(&id, e.index)
            })
            .collect();
    }
    let at = match entry.elements.iter().position(|e| e.index == Some(ix)) {
        Some(at) => at,
        None => {
            entry
                .elements
                .push(StepEntry::new(&entry.id.clone(), Some(ix)));
            entry.elements.sort_by_key(|e| e.index);
            entry
                .elements
                .iter()
                .position(|e| e.index == Some(ix))
                .unwrap_or(0)
        }
    };
    &mut entry.elements[at]
}

impl EventWriter for RunRecorder {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if let Some(file) = &mut self.events {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(file, "{line}");
            }
        }
        if self.apply(event) {
            self.save(matches!(event, RunEvent::RunFinished { .. }))?;
        }
        Ok(())
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::agent::Usage;
    use crate::engine::event::Status;
    use serde_json::json;

    fn state() -> RunState {
        RunState {
            version: super::super::state::RECORD_VERSION,
            run_id: "r1".into(),
            workflow: "w".into(),
            workflow_path: "w.yaml".into(),
            workflow_hash: "h".into(),
            step_hashes: Default::default(),
            inputs: json!({}),
            options: Default::default(),
            status: RecordStatus::Running,
            pid: Some(1),
            started_at_ms: 0,
            duration_ms: None,
            usage: Usage::default(),
            sessions: 1,
            steps: Vec::new(),
            secret_env: Vec::new(),
        }
    }

    fn finished(step: &str, index: Option<usize>, output: serde_json::Value) -> RunEvent {
        RunEvent::StepFinished {
            step: step.into(),
            index,
            status: Status::Succeeded,
            error: None,
            output: Some(output),
            duration_ms: 5,
            usage: Usage::default(),
            thread_id: Some("t1".into()),
            attempts: 1,
            reused: false,
            kind: Default::default(),
            exit_code: None,
            stderr: None,
            iterations: None,
            patch: None,
        }
    }

    #[test]
    fn the_record_follows_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("runs/r1");
        let mut rec = RunRecorder::create(&run_dir, state()).unwrap();
        rec.write_event(&RunEvent::StepStarted {
            step: "a".into(),
            index: None,
            thread_id: Some("t1".into()),
            attempt: 1,
            prompt: Some("A".into()),
            kind: Default::default(),
            iteration: None,
        })
        .unwrap();
        rec.flush().unwrap();
        let saved = RunState::load(&run_dir).unwrap();
        assert_eq!(saved.step("a").unwrap().status, RecordStatus::Running);
        rec.write_event(&finished("a", None, json!({"n": 1})))
            .unwrap();
        rec.write_event(&finished("b", Some(1), json!("one")))
            .unwrap();
        rec.write_event(&finished("b", Some(0), json!("zero")))
            .unwrap();
        rec.write_event(&RunEvent::RunFinished {
            status: Status::Succeeded,
            duration_ms: 9,
            usage: Usage::default(),
        })
        .unwrap();
        let saved = RunState::load(&run_dir).unwrap();
        assert_eq!(saved.status, RecordStatus::Succeeded);
        assert_eq!(saved.pid, None);
        let a = saved.step("a").unwrap();
        assert_eq!(a.output, json!({"n": 1}));
        assert_eq!(a.prompt.as_deref(), Some("A"));
        assert_eq!(a.thread_id.as_deref(), Some("t1"));
        let b = saved.step("b").unwrap();
        let indexes: Vec<_> = b.elements.iter().map(|e| e.index).collect();
        assert_eq!(indexes, vec![Some(0), Some(1)]);
        let events = fs::read_to_string(run_dir.join(EVENTS_FILE)).unwrap();
        assert_eq!(events.lines().count(), 5);
        assert!(!run_dir.join(".run.json.tmp").exists());
    }

    #[test]
    fn a_damaged_record_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        RunRecorder::create(dir.path(), state()).unwrap();
        let path = dir.path().join(STATE_FILE);
        let text = fs::read(&path).unwrap();
        fs::write(&path, &text[..text.len() / 2]).unwrap();
        let err = RunState::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
        assert!(err.contains("left as it is"), "{err}");
    }
}
