//! The directory of run records (`.weft/runs` by default): list runs, find one by id,
//! unique prefix or `last`.

use std::path::{Path, PathBuf};

use super::state::{RecordError, RunState};

/// The runs directory.
#[derive(Debug, Clone)]
pub struct RunStore {
    pub dir: PathBuf,
}

impl RunStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory of run `id` (whether or not it exists).
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Run ids, oldest first. Ids start with their UTC start time, so they sort by it;
    /// runs started in the same second are ordered by their recorded start.
    pub fn ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<(String, u64)> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                let name = e.file_name().to_str()?.to_string();
                let is_run = e.file_type().ok()?.is_dir() && !name.starts_with('.');
                is_run.then_some(name)
            })
            .map(|name| {
                let started = started_at(&self.dir.join(&name)).unwrap_or(0);
                (name, started)
            })
            .collect();
        ids.sort_by(|a, b| a.0.get(..15).cmp(&b.0.get(..15)).then(a.1.cmp(&b.1)));
        ids.into_iter().map(|(name, _)| name).collect()
    }

    /// The directory of the run `query` names: an id, a unique prefix of one, or `last`.
    pub fn find(&self, query: &str) -> Result<PathBuf, RecordError> {
        let ids = self.ids();
        if query == "last" {
            return self.last();
        }
        if ids.iter().any(|id| id == query) {
            return Ok(self.run_dir(query));
        }
        let matches: Vec<String> = ids
            .iter()
            .filter(|id| id.starts_with(query))
            .cloned()
            .collect();
        match matches.len() {
            1 => Ok(self.run_dir(&matches[0])),
            0 => Err(RecordError::NoSuchRun {
                query: query.to_string(),
                dir: self.dir.clone(),
                known: ids,
            }),
            _ => Err(RecordError::Ambiguous {
                query: query.to_string(),
                matches,
            }),
        }
    }

    /// The directory of the latest run.
    pub fn last(&self) -> Result<PathBuf, RecordError> {
        match self.ids().last() {
            Some(id) => Ok(self.run_dir(id)),
            None => Err(RecordError::NoRuns {
                dir: self.dir.clone(),
            }),
        }
    }
}

fn started_at(dir: &Path) -> Option<u64> {
    RunState::load_head(dir).ok().map(|s| s.started_at_ms)
}

/// Whether process `pid` exists (a run recorded as running may have died).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
