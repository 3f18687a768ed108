//! The run record: `<runs-dir>/<run-id>/run.json` (the run's [`RunState`], rewritten
//! atomically whenever a step starts or finishes), `elements/<step>.jsonl` (each fan-out
//! element as it starts and finishes, appended) and `events.jsonl` (every event, appended).
//!
//! `run.json` is written by a [`Saver`] thread, newest state first, so that the run never
//! waits on fsync; the end of the run waits until the final state is on disk. An element
//! changes only its log, so a fan-out of any length costs the same per element.

use crate::vocab::now_ms;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::atomic::write_atomic;
use super::elements::{ElementLogs, elements_file};
use super::saver::Saver;
use super::state::{EVENTS_FILE, RecordStatus, RunState, STATE_FILE, StepEntry};
use super::{EventWriter, ReportError};
use crate::engine::IterationRecord;
use crate::engine::event::{RunEvent, Status};

/// Keeps the run record up to date from the run's events.
pub struct RunRecorder {
    dir: PathBuf,
    state: RunState,
    events: Option<File>,
    /// Time run in earlier sessions.
    earlier_ms: u64,
    saver: Saver,
    elements: ElementLogs,
    /// The fan-out steps that started their elements in this session.
    fanned_out: HashSet<String>,
    /// The elements this session kept from an earlier one, by step and index.
    kept: HashSet<(String, usize)>,
    /// The steps whose success (or a loop iteration's) is saved before the event
    /// returns, because the run goes on from it: see [`RunRecorder::saving_before`].
    durable: HashSet<String>,
}

impl RunRecorder {
    /// Creates `dir` (if needed) and writes `state`, for a new run or a resumed one
    /// (whose events are appended to the existing log).
    /// An earlier session's elements (inline in a version 1 record, or read from their
    /// logs) go to logs of their own.
    pub fn create(dir: &Path, mut state: RunState) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let events = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(EVENTS_FILE))?;
        let mut elements = ElementLogs::new(dir);
        state.version = super::state::RECORD_VERSION;
        for step in &mut state.steps {
            if step.elements_file.is_some() || !step.elements.is_empty() {
                elements.reset(&step.id, std::mem::take(&mut step.elements))?;
                step.elements_file = Some(elements_file(&step.id));
            }
        }
        let text = serde_json::to_vec_pretty(&state).map_err(io::Error::other)?;
        write_atomic(&dir.join(STATE_FILE), &text)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            earlier_ms: state.duration_ms.unwrap_or(0),
            state,
            events: Some(events),
            saver: Saver::new(dir.join(STATE_FILE))?,
            elements,
            fanned_out: HashSet::new(),
            kept: HashSet::new(),
            durable: HashSet::new(),
        })
    }

    /// Makes the success of each of `steps` (and each of their loops' iterations) reach
    /// the disk before the event that says so returns: the steps other steps wait for, so
    /// that a run killed after one of them started never runs a finished turn again. A
    /// fan-out's elements need not: their log is appended as they finish. The others are
    /// saved in the background, as they come.
    pub fn saving_before(mut self, steps: impl IntoIterator<Item = String>) -> Self {
        self.durable = steps.into_iter().collect();
        self
    }

    /// Whether `event` is a success the run goes on from, to be on disk before it does.
    fn must_save(&self, event: &RunEvent) -> bool {
        match event {
            RunEvent::StepFinished {
                step,
                index: None,
                status: Status::Succeeded,
                reused: false,
                ..
            }
            | RunEvent::IterationFinished {
                step,
                index: None,
                status: Status::Succeeded,
                ..
            } => self.durable.contains(step),
            RunEvent::RunFinished { .. } => true,
            _ => false,
        }
    }

    /// The directory of the record.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until the newest state is on disk.
    pub fn flush(&self) -> io::Result<()> {
        self.saver.flush()
    }

    /// Hands the current state to the saver; at the end of the run (and after a success
    /// the run goes on from), waits until it is on disk and says so if it could not be
    /// written.
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

    /// Updates the state; true when `run.json` changed in a way worth saving (an element
    /// changes only its log).
    fn apply(&mut self, event: &RunEvent) -> io::Result<bool> {
        match event {
            RunEvent::StepStarted { step, index, .. } => {
                self.unit(step, *index, |entry| started(entry, event))
            }
            RunEvent::IterationFinished { step, index, .. } => {
                self.unit(step, *index, |entry| iterated(entry, event))
            }
            RunEvent::GateWaiting {
                step,
                index,
                question,
            } => self.unit(step, *index, |entry| {
                entry.status = RecordStatus::Waiting;
                entry.prompt = Some(question.clone());
            }),
            RunEvent::StepFinished {
                step,
                index: Some(ix),
                reused: true,
                ..
            } => {
                self.kept.insert((step.clone(), *ix));
                self.elements
                    .update(step, *ix, |entry| finished(entry, event))?;
                Ok(false)
            }
            RunEvent::StepFinished { step, index, .. } => {
                self.unit(step, *index, |entry| finished(entry, event))
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
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Changes the entry of `step` (`index` none) or of one of its elements (in its log);
    /// true when `run.json` changed.
    fn unit(
        &mut self,
        step: &str,
        index: Option<usize>,
        change: impl FnOnce(&mut StepEntry),
    ) -> io::Result<bool> {
        let Some(ix) = index else {
            change(self.state.step_mut(step));
            return Ok(true);
        };
        let fresh = self.fan_out(step)?;
        self.elements.update(step, ix, change)?;
        Ok(fresh)
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
        item,
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
            let file = entry.elements_file.take();
            *entry = StepEntry::new(step, *index);
            entry.elements_file = file;
            entry.prompt = prompt.clone();
            entry.item = item.clone();
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
        cached,
        saved,
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
    entry.cached = *cached;
    entry.saved = *saved;
    if thread_id.is_some() {
        entry.thread_id = thread_id.clone();
    }
}

impl RunRecorder {
    /// Makes `step` a running fan-out with a new element log, unless it is one already in
    /// this session (its first element to start or end drops an earlier session's, but for
    /// the elements this session keeps and their loops' iterations, which a resumed loop
    /// continues after); true when it was not.
    fn fan_out(&mut self, step: &str) -> io::Result<bool> {
        if !self.fanned_out.insert(step.to_string()) {
            return Ok(false);
        }
        let entry = self.state.step_mut(step);
        *entry = StepEntry::new(step, None);
        entry.started_at_ms = Some(now_ms());
        entry.elements_file = Some(elements_file(step));
        let kept = self
            .elements
            .entries(step)
            .into_iter()
            .filter_map(|e| {
                let index = e.index.unwrap_or(0);
                if self.kept.contains(&(step.to_string(), index)) {
                    Some(e)
                } else {
                    (!e.iterations.is_empty()).then(|| StepEntry {
                        iterations: e.iterations,
                        ..StepEntry::new(step, e.index)
                    })
                }
            })
            .collect();
        self.elements.reset(step, kept)?;
        Ok(true)
    }
}

impl EventWriter for RunRecorder {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if let Some(file) = &mut self.events {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(file, "{line}");
            }
        }
        let changed = self.apply(event).map_err(|source| ReportError {
            what: format!(
                "cannot write the fan-out elements of the run record in {}",
                self.dir.display()
            ),
            source,
        })?;
        if changed {
            self.save(self.must_save(event))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::agent::Usage;
    use crate::engine::event::Status;
    use crate::report::RECORD_VERSION;
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
            shard: None,
            merged_from: Vec::new(),
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
            cached: false,
            saved: None,
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
            item: None,
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

    fn element_started(step: &str, index: usize) -> RunEvent {
        RunEvent::StepStarted {
            step: step.into(),
            index: Some(index),
            thread_id: Some(format!("t{index}")),
            attempt: 1,
            prompt: Some(format!("element {index}")),
            kind: Default::default(),
            iteration: None,
            item: None,
        }
    }

    #[test]
    fn elements_go_to_their_own_log_and_run_json_does_not_grow_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("r1");
        let mut rec = RunRecorder::create(&run_dir, state()).unwrap();
        rec.write_event(&element_started("each", 0)).unwrap();
        rec.flush().unwrap();
        let first = fs::read(run_dir.join(STATE_FILE)).unwrap();
        for i in 1..200 {
            rec.write_event(&element_started("each", i)).unwrap();
            rec.write_event(&finished("each", Some(i), json!(i)))
                .unwrap();
        }
        rec.flush().unwrap();
        assert_eq!(fs::read(run_dir.join(STATE_FILE)).unwrap(), first);
        let saved = RunState::load(&run_dir).unwrap();
        let each = saved.step("each").unwrap();
        assert_eq!(each.elements.len(), 200);
        assert_eq!(each.elements[7].output, json!(7));
        assert_eq!(each.elements[7].prompt.as_deref(), Some("element 7"));
        assert_eq!(each.elements_file.as_deref(), Some("elements/each.jsonl"));
    }

    #[test]
    fn a_resumed_record_keeps_earlier_elements_until_the_fan_out_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("r1");
        let mut old = state();
        old.version = 1;
        let mut each = StepEntry::new("each", None);
        each.elements = (0..3).map(|i| StepEntry::new("each", Some(i))).collect();
        old.steps.push(each);
        let text = serde_json::to_vec_pretty(&old).unwrap();
        fs::create_dir_all(&run_dir).unwrap();
        fs::write(run_dir.join(STATE_FILE), text).unwrap();
        let inline = RunState::load(&run_dir).unwrap();
        assert_eq!(
            inline.step("each").unwrap().elements.len(),
            3,
            "version 1 reads"
        );

        let mut rec = RunRecorder::create(&run_dir, inline).unwrap();
        rec.flush().unwrap();
        let moved = RunState::load(&run_dir).unwrap();
        assert_eq!(moved.version, RECORD_VERSION);
        assert_eq!(moved.step("each").unwrap().elements.len(), 3);
        let head = RunState::load_head(&run_dir).unwrap();
        assert!(head.step("each").unwrap().elements.is_empty());

        rec.write_event(&element_started("each", 1)).unwrap();
        rec.flush().unwrap();
        let again = RunState::load(&run_dir).unwrap();
        let indexes: Vec<_> = again
            .step("each")
            .unwrap()
            .elements
            .iter()
            .map(|e| e.index)
            .collect();
        assert_eq!(indexes, vec![Some(1)], "the new session's elements only");
    }

    #[test]
    fn the_elements_a_resume_keeps_stay_when_the_fan_out_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("r1");
        let mut old = state();
        let mut each = StepEntry::new("each", None);
        each.elements = (0..3)
            .map(|i| {
                let mut e = StepEntry::new("each", Some(i));
                e.status = RecordStatus::Succeeded;
                e.output = json!(format!("out {i}"));
                e.item = Some(json!(format!("item {i}")));
                e
            })
            .collect();
        old.steps.push(each);
        let mut rec = RunRecorder::create(&run_dir, old).unwrap();
        for i in [0, 2] {
            let mut kept = finished("each", Some(i), json!(format!("out {i}")));
            if let RunEvent::StepFinished { reused, .. } = &mut kept {
                *reused = true;
            }
            rec.write_event(&kept).unwrap();
        }
        rec.write_event(&element_started("each", 1)).unwrap();
        rec.flush().unwrap();
        let saved = RunState::load(&run_dir).unwrap();
        let seen: Vec<_> = saved
            .step("each")
            .unwrap()
            .elements
            .iter()
            .map(|e| (e.index, e.status, e.output.clone(), e.item.clone()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    Some(0),
                    RecordStatus::Succeeded,
                    json!("out 0"),
                    Some(json!("item 0"))
                ),
                (Some(1), RecordStatus::Running, json!(null), None),
                (
                    Some(2),
                    RecordStatus::Succeeded,
                    json!("out 2"),
                    Some(json!("item 2"))
                ),
            ]
        );
    }

    #[test]
    fn a_step_others_wait_for_is_on_disk_when_its_event_returns() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("r1");
        let mut rec = RunRecorder::create(&run_dir, state())
            .unwrap()
            .saving_before(["a".to_string()]);
        rec.write_event(&finished("a", None, json!("A"))).unwrap();
        let saved = RunState::load(&run_dir).unwrap();
        assert_eq!(saved.step("a").unwrap().status, RecordStatus::Succeeded);
        assert_eq!(saved.step("a").unwrap().output, json!("A"));
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
