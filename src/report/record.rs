//! The run record: `.weft/runs/<run-id>/run.json` (the run's state, rewritten
//! atomically after every step) and `events.jsonl` (every event, appended).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::EventWriter;
use crate::engine::agent::Usage;
use crate::engine::event::{RunEvent, Status};

/// What `run.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunState {
    pub run_id: String,
    pub workflow: String,
    pub workflow_path: PathBuf,
    pub inputs: Value,
    /// `running` until the run ends, then the run's status.
    pub status: String,
    pub started_at_ms: u64,
    pub duration_ms: Option<u64>,
    pub usage: Usage,
    /// Finished steps by id.
    pub steps: Map<String, Value>,
}

/// Keeps the run record up to date from the run's events.
pub struct RunRecorder {
    dir: PathBuf,
    state: RunState,
    events: Option<File>,
}

impl RunRecorder {
    /// Creates `dir` and writes the initial record.
    pub fn create(dir: &Path, state: RunState) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let events = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("events.jsonl"))?;
        let recorder = Self {
            dir: dir.to_path_buf(),
            state,
            events: Some(events),
        };
        recorder.save()?;
        Ok(recorder)
    }

    /// The directory of the record.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn save(&self) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(&self.state).map_err(io::Error::other)?;
        write_atomic(&self.dir.join("run.json"), &text)
    }

    fn apply(&mut self, event: &RunEvent) -> bool {
        match event {
            RunEvent::StepFinished {
                step,
                index: None,
                status,
                error,
                output,
                duration_ms,
                usage,
            } => {
                let entry = serde_json::json!({
                    "status": status,
                    "output": output,
                    "error": error,
                    "duration_ms": duration_ms,
                    "usage": usage,
                });
                self.state.steps.insert(step.clone(), entry);
                true
            }
            RunEvent::RunFinished {
                status,
                duration_ms,
                usage,
            } => {
                self.state.status = status_name(*status).into();
                self.state.duration_ms = Some(*duration_ms);
                self.state.usage = *usage;
                true
            }
            _ => false,
        }
    }
}

fn status_name(status: Status) -> &'static str {
    status.as_str()
}

impl EventWriter for RunRecorder {
    fn write_event(&mut self, event: &RunEvent) {
        if let Some(file) = &mut self.events {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(file, "{line}");
            }
        }
        if self.apply(event) {
            if let Err(err) = self.save() {
                tracing::warn!(
                    "could not save the run record in {}: {err}",
                    self.dir.display()
                );
            }
        }
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// part: a temporary file beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_record_follows_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("runs/r1");
        let state = RunState {
            run_id: "r1".into(),
            workflow: "w".into(),
            workflow_path: "w.yaml".into(),
            inputs: json!({}),
            status: "running".into(),
            started_at_ms: 0,
            duration_ms: None,
            usage: Usage::default(),
            steps: Map::new(),
        };
        let mut rec = RunRecorder::create(&run_dir, state).unwrap();
        rec.write_event(&RunEvent::StepFinished {
            step: "a".into(),
            index: None,
            status: Status::Succeeded,
            error: None,
            output: Some(json!({"n": 1})),
            duration_ms: 5,
            usage: Usage::default(),
        });
        rec.write_event(&RunEvent::RunFinished {
            status: Status::Succeeded,
            duration_ms: 9,
            usage: Usage::default(),
        });
        let saved: RunState =
            serde_json::from_slice(&fs::read(run_dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(saved.status, "succeeded");
        assert_eq!(saved.steps["a"]["output"], json!({"n": 1}));
        let events = fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
        assert_eq!(events.lines().count(), 2);
        assert!(!run_dir.join(".run.json.tmp").exists());
    }
}
