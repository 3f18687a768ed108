//! [`Store`]: the cache directory (`.weft/cache` by default). `entries/AB/KEY.json` is a
//! stored result ([`Entry`]) and `KEY.patch` its patch; `index/HASH.json` is the key
//! parts of the last result stored for one workflow's step (what `weft plan --cache`
//! and a miss compare with). Every write is a temporary file in the same directory
//! renamed over the target, so a reader sees a whole file or none, and runs that store
//! the same key at once are safe: the last rename wins, and both wrote the same result
//! for the same key. A hit touches its entry, which is how the least recently used are
//! found ([`super::prune`]). An entry that cannot be read is a miss.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::json;

use super::entry::{ENTRY_VERSION, Entry};
use super::key::hash_value;

/// A cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

/// One stored file as eviction sees it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub path: PathBuf,
    pub size: u64,
    pub used: SystemTime,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &str, ext: &str) -> PathBuf {
        let shard = key.get(..2).unwrap_or("00");
        self.dir
            .join("entries")
            .join(shard)
            .join(format!("{key}.{ext}"))
    }

    fn index_path(&self, workflow: &str, step: &str) -> PathBuf {
        let name = hash_value(&json!([workflow, step]));
        self.dir.join("index").join(format!("{name}.json"))
    }

    /// The entry of `key`, touched as used; `None` when there is none (or it cannot be
    /// read, or is of another format).
    pub fn get(&self, key: &str) -> Option<Entry> {
        let entry = self.peek(key)?;
        let path = self.entry_path(key, "json");
        if let Ok(file) = fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(entry)
    }

    /// The entry of `key`, left as it is (not touched: `weft plan --cache` only looks).
    pub fn peek(&self, key: &str) -> Option<Entry> {
        let text = fs::read(self.entry_path(key, "json")).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        (entry.version == ENTRY_VERSION && entry.key == key).then_some(entry)
    }

    /// The patch text of `key`'s entry.
    pub fn patch(&self, key: &str) -> Option<Vec<u8>> {
        fs::read(self.entry_path(key, "patch")).ok()
    }

    /// Stores `entry` (with `patch`, its patch text), and notes its parts as the last of
    /// its step.
    pub fn put(&self, entry: &Entry, patch: Option<&[u8]>) -> io::Result<()> {
        if let Some(text) = patch {
            write_atomic(&self.entry_path(&entry.key, "patch"), text)?;
        }
        let bytes = serde_json::to_vec(entry).map_err(io::Error::other)?;
        write_atomic(&self.entry_path(&entry.key, "json"), &bytes)?;
        let parts = serde_json::to_vec(&entry.parts).map_err(io::Error::other)?;
        write_atomic(&self.index_path(&entry.workflow, &entry.step), &parts)
    }

    /// Whether results can be stored: the directory exists (or is made) and takes a file.
    pub fn check_writable(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map(drop)
    }

    /// The key parts of the last result stored for `step` of `workflow`.
    pub fn last_parts(&self, workflow: &str, step: &str) -> Option<BTreeMap<String, String>> {
        let text = fs::read(self.index_path(workflow, step)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Every stored file (entries, patches, index), with its size and last use.
    pub fn files(&self) -> Vec<StoredFile> {
        let mut out = Vec::new();
        walk(&self.dir, &mut out);
        out
    }

    /// The entry a stored file belongs to: its `.json` and `.patch` (none for an index
    /// file).
    pub fn siblings(path: &Path) -> Vec<PathBuf> {
        ["json", "patch"]
            .iter()
            .map(|ext| path.with_extension(ext))
            .collect()
    }
}

fn walk(dir: &Path, out: &mut Vec<StoredFile>) {
    let Ok(read) = fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, out);
        } else if meta.is_file() {
            out.push(StoredFile {
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                size: meta.len(),
                path,
            });
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in its directory, renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cache::entry::StoredPatch;

    #[test]
    fn a_directory_that_cannot_be_made_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "not a directory").unwrap();
        assert!(
            Store::new(dir.path().join("cache"))
                .check_writable()
                .is_ok()
        );
        assert!(Store::new(file.join("cache")).check_writable().is_err());
    }

    pub(crate) fn entry(key: &str, step: &str) -> Entry {
        Entry {
            version: ENTRY_VERSION,
            key: key.to_string(),
            workflow: "w".into(),
            step: step.into(),
            parts: BTreeMap::from([("prompt".into(), "p1".into())]),
            output: json!({"answer": 42}),
            usage: Default::default(),
            exit_code: None,
            stderr: None,
            patch: None,
            created_ms: 1,
        }
    }

    #[test]
    fn a_stored_entry_comes_back_with_its_patch_and_its_parts_are_the_steps_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"));
        assert_eq!(store.get("abcd"), None);
        let mut e = entry("abcd", "s");
        e.patch = Some(StoredPatch {
            files: Vec::new(),
            insertions: 1,
            deletions: 0,
        });
        store.put(&e, Some(b"diff --git a/x b/x\n")).unwrap();
        assert_eq!(store.get("abcd"), Some(e.clone()));
        assert_eq!(store.patch("abcd").unwrap(), b"diff --git a/x b/x\n");
        assert_eq!(store.last_parts("w", "s"), Some(e.parts.clone()));
        assert_eq!(store.last_parts("w", "other"), None);
        let leftovers: Vec<_> = store
            .files()
            .into_iter()
            .filter(|f| f.path.to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file is left: {leftovers:?}"
        );
    }

    #[test]
    fn a_damaged_or_foreign_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.put(&entry("abcd", "s"), None).unwrap();
        fs::write(store.entry_path("abcd", "json"), b"{ half").unwrap();
        assert_eq!(store.get("abcd"), None);
        let mut old = entry("ef01", "s");
        old.version = ENTRY_VERSION + 1;
        store.put(&old, None).unwrap();
        assert_eq!(store.get("ef01"), None);
    }

    #[test]
    fn concurrent_writers_of_one_key_leave_one_whole_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        std::thread::scope(|s| {
            for n in 0..8 {
                let store = store.clone();
                s.spawn(move || {
                    let mut e = entry("abcd", "s");
                    e.output = json!({"writer": n, "pad": "x".repeat(100_000)});
                    store.put(&e, None).unwrap();
                });
            }
        });
        let got = store.get("abcd").expect("one whole entry");
        assert_eq!(got.output["pad"].as_str().unwrap().len(), 100_000);
    }
}
