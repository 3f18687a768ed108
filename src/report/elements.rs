//! The fan-out elements of a run record, one append-only log per step:
//! `<run-dir>/elements/<step>.jsonl`, a line per change of an element (its whole entry; the
//! last line of an index wins). Appending costs the same for the 2,000th element as for
//! the first, where rewriting them all into `run.json` on every change made a fan-out's
//! record cost quadratic in its length. `run.json` names the log of each step that has one
//! (`elements_file`); records written before keep their elements inline, and read as before.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::state::{RecordError, StepEntry};

/// The directory of the element logs inside a run directory.
pub const ELEMENTS_DIR: &str = "elements";

/// The element log of `step`, relative to the run directory.
pub fn elements_file(step: &str) -> String {
    format!("{ELEMENTS_DIR}/{step}.jsonl")
}

/// The element logs a recorder writes: each step's elements as they stand, and its file.
#[derive(Debug)]
pub struct ElementLogs {
    dir: PathBuf,
    steps: HashMap<String, StepLog>,
}

#[derive(Debug)]
struct StepLog {
    entries: BTreeMap<usize, StepEntry>,
    file: File,
}

impl ElementLogs {
    /// The logs of the run in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            steps: HashMap::new(),
        }
    }

    /// Starts `step`'s log afresh with `entries` (none, when the step starts its fan-out
    /// again; an earlier record's, when a run is resumed).
    pub fn reset(&mut self, step: &str, entries: Vec<StepEntry>) -> io::Result<()> {
        let path = self.dir.join(elements_file(step));
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut file = File::create(&path)?;
        let mut map = BTreeMap::new();
        for entry in entries {
            writeln!(file, "{}", line(&entry)?)?;
            map.insert(entry.index.unwrap_or(0), entry);
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        self.steps
            .insert(step.to_string(), StepLog { entries: map, file });
        Ok(())
    }

    /// The elements of `step` as they stand in its log (none without a log), in order.
    pub fn entries(&self, step: &str) -> Vec<StepEntry> {
        self.steps
            .get(step)
            .map(|log| log.entries.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `step` has a log in this session.
    pub fn has(&self, step: &str) -> bool {
        self.steps.contains_key(step)
    }

    /// Changes element `index` of `step` (created when new) and appends it to the log.
    pub fn update(
        &mut self,
        step: &str,
        index: usize,
        change: impl FnOnce(&mut StepEntry),
    ) -> io::Result<()> {
        if !self.has(step) {
            self.reset(step, Vec::new())?;
        }
        let Some(log) = self.steps.get_mut(step) else {
            return Ok(());
        };
        let entry = log
            .entries
            .entry(index)
            .or_insert_with(|| StepEntry::new(step, Some(index)));
        change(entry);
        let text = line(entry)?;
        writeln!(log.file, "{text}")
    }
}

fn line(entry: &StepEntry) -> io::Result<String> {
    serde_json::to_string(entry).map_err(io::Error::other)
}

/// Reads the element log `file` of a run in `dir`: the last entry of each index, in index
/// order. A cut-off last line (the process died while writing it) is skipped; any other
/// line that is not an entry means the record is damaged.
pub fn read(dir: &Path, file: &str) -> Result<Vec<StepEntry>, RecordError> {
    let path = dir.join(file);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(RecordError::Io { path, source }),
    };
    let mut entries = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let cut_off = !text.is_empty() && !text.ends_with('\n');
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_str::<StepEntry>(line) {
            Ok(entry) => {
                entries.insert(entry.index.unwrap_or(0), entry);
            }
            Err(_) if cut_off && n + 1 == lines.len() => {}
            Err(e) => {
                return Err(RecordError::Damaged {
                    path,
                    detail: format!("line {}: {e}", n + 1),
                });
            }
        }
    }
    Ok(entries.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RecordStatus;

    #[test]
    fn the_last_line_of_an_index_wins_and_a_cut_off_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut logs = ElementLogs::new(dir.path());
        logs.update("each", 1, |e| e.prompt = Some("one".into()))
            .unwrap();
        logs.update("each", 0, |e| e.prompt = Some("zero".into()))
            .unwrap();
        logs.update("each", 1, |e| e.status = RecordStatus::Succeeded)
            .unwrap();
        let path = dir.path().join(elements_file("each"));
        let mut text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        text.push_str("{\"id\":\"each\",\"ind");
        fs::write(&path, &text).unwrap();
        let read = read(dir.path(), &elements_file("each")).unwrap();
        let seen: Vec<_> = read
            .iter()
            .map(|e| (e.index, e.status, e.prompt.clone()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (Some(0), RecordStatus::Running, Some("zero".into())),
                (Some(1), RecordStatus::Succeeded, Some("one".into())),
            ]
        );
        fs::write(&path, "not json\n{}\n").unwrap();
        let err = super::read(dir.path(), &elements_file("each")).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn a_reset_starts_the_log_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut logs = ElementLogs::new(dir.path());
        logs.update("each", 0, |_| {}).unwrap();
        logs.update("each", 1, |_| {}).unwrap();
        logs.reset("each", vec![StepEntry::new("each", Some(5))])
            .unwrap();
        let read = read(dir.path(), &elements_file("each")).unwrap();
        assert_eq!(
            read.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![Some(5)]
        );
    }
}
