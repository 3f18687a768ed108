//! Saving a file's newest contents on a thread of its own: the run never waits for a
//! disk flush, and a burst of updates costs one write (the newest wins).

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::atomic::write_atomic;

/// Writes snapshots of one file with [`write_atomic`], newest first, in the background.
pub struct Saver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
}

#[derive(Default)]
struct Slot {
    pending: Option<Vec<u8>>,
    writing: bool,
    closed: bool,
    error: Option<io::Error>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Saver {
    /// Starts the thread that writes `path`.
    pub fn new(path: PathBuf) -> io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("weft-record".into())
            .spawn(move || write_loop(&worker, &path))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Replaces what is waiting to be written with `bytes`.
    pub fn submit(&self, bytes: Vec<u8>) {
        self.shared.lock().pending = Some(bytes);
        self.shared.changed.notify_all();
    }

    /// Waits until everything submitted is on disk; the first error since the last flush.
    pub fn flush(&self) -> io::Result<()> {
        let mut slot = self.shared.lock();
        while slot.pending.is_some() || slot.writing {
            slot = self
                .shared
                .changed
                .wait(slot)
                .unwrap_or_else(|e| e.into_inner());
        }
        slot.error.take().map_or(Ok(()), Err)
    }
}

fn write_loop(shared: &Shared, path: &std::path::Path) {
    let mut slot = shared.lock();
    loop {
        if let Some(bytes) = slot.pending.take() {
            slot.writing = true;
            drop(slot);
            let result = write_atomic(path, &bytes);
            slot = shared.lock();
            slot.writing = false;
            if let Err(e) = result {
                slot.error.get_or_insert(e);
            }
            shared.changed.notify_all();
        } else if slot.closed {
            return;
        } else {
            slot = shared.changed.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_snapshot_wins_and_flush_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let saver = Saver::new(path.clone()).unwrap();
        for n in 0..100 {
            saver.submit(format!("{{\"n\": {n}}}").into_bytes());
        }
        saver.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\": 99}");
    }

    #[test]
    fn dropping_the_saver_writes_what_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let saver = Saver::new(path.clone()).unwrap();
        saver.submit(b"last".to_vec());
        drop(saver);
        assert_eq!(std::fs::read(&path).unwrap(), b"last");
    }

    #[test]
    fn a_failed_write_is_reported_by_flush() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path().join("missing/run.json")).unwrap();
        saver.submit(b"x".to_vec());
        assert!(saver.flush().is_err());
        assert!(saver.flush().is_ok(), "an error is reported once");
    }
}
