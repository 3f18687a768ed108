//! [`Prune`]: what to drop from a [`Store`]: everything, entries not used for a while,
//! or the least recently used until the cache fits a size (what every run does with
//! `--cache-max-size` when it ends). An entry's `.json` and `.patch` go together.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::store::{Store, StoredFile};

/// What to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    /// Remove the least recently used entries until the cache is no bigger (bytes).
    pub max_size: Option<u64>,
    /// Remove entries not used for this long.
    pub older_than: Option<Duration>,
    /// Remove everything.
    pub all: bool,
}

/// What a prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub removed: usize,
    pub freed: u64,
    /// Entries left, and their size.
    pub kept: usize,
    pub size: u64,
}

/// One entry: its files, their total size and its last use.
struct Unit {
    files: Vec<PathBuf>,
    size: u64,
    used: SystemTime,
}

impl Prune {
    /// Removes from `store` what `self` says, least recently used first.
    pub fn run(&self, store: &Store) -> Pruned {
        let mut units = units(store.files());
        units.sort_by_key(|u| u.used);
        let now = SystemTime::now();
        let mut size: u64 = units.iter().map(|u| u.size).sum();
        let mut pruned = Pruned::default();
        for unit in units {
            let old = self
                .older_than
                .is_some_and(|age| now.duration_since(unit.used).unwrap_or_default() > age);
            let over = self.max_size.is_some_and(|max| size > max);
            if self.all || old || over {
                for file in &unit.files {
                    let _ = std::fs::remove_file(file);
                }
                size -= unit.size;
                pruned.removed += 1;
                pruned.freed += unit.size;
            } else {
                pruned.kept += 1;
            }
        }
        pruned.size = size;
        if self.all {
            let _ = std::fs::remove_dir_all(store.dir().join("index"));
        }
        pruned
    }
}

/// The stored files grouped by entry (an entry's last use is its `.json`'s); index files
/// are left out: they are small and say what changed, not what is stored.
fn units(files: Vec<StoredFile>) -> Vec<Unit> {
    let mut by_entry: BTreeMap<PathBuf, Unit> = BTreeMap::new();
    for file in files {
        let in_entries = file.path.components().any(|c| c.as_os_str() == "entries");
        let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !in_entries || name.starts_with('.') {
            continue;
        }
        let unit = by_entry
            .entry(file.path.with_extension(""))
            .or_insert_with(|| Unit {
                files: Vec::new(),
                size: 0,
                used: SystemTime::UNIX_EPOCH,
            });
        if file.path.extension().is_some_and(|e| e == "json") {
            unit.used = file.used;
        }
        unit.size += file.size;
        unit.files.push(file.path);
    }
    by_entry.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cache::entry::{ENTRY_VERSION, Entry};
    use serde_json::json;

    fn put(store: &Store, key: &str, pad: usize, used: SystemTime) {
        let entry = Entry {
            version: ENTRY_VERSION,
            key: key.into(),
            workflow: "w".into(),
            step: key.into(),
            parts: Default::default(),
            output: json!("x".repeat(pad)),
            usage: Default::default(),
            exit_code: None,
            stderr: None,
            patch: None,
            created_ms: 0,
        };
        store.put(&entry, Some(b"patch")).unwrap();
        let path = store
            .dir()
            .join(format!("entries/{}/{key}.json", &key[..2]));
        let file = std::fs::File::options().append(true).open(path).unwrap();
        file.set_modified(used).unwrap();
    }

    fn ago(secs: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(secs)
    }

    #[test]
    fn over_the_size_the_least_recently_used_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        put(&store, "aa01", 1000, ago(300));
        put(&store, "bb02", 1000, ago(100));
        put(&store, "cc03", 1000, ago(200));
        assert!(
            store.get("bb02").is_some(),
            "a hit makes it the most recent"
        );
        let pruned = Prune {
            max_size: Some(2500),
            ..Prune::default()
        }
        .run(&store);
        assert_eq!((pruned.removed, pruned.kept), (1, 2));
        assert!(store.get("aa01").is_none());
        assert!(store.patch("aa01").is_none(), "its patch goes with it");
        assert!(store.get("cc03").is_some() && store.get("bb02").is_some());
        assert!(pruned.size <= 2500, "{pruned:?}");
    }

    #[test]
    fn older_than_and_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        put(&store, "aa01", 10, ago(7200));
        put(&store, "bb02", 10, ago(10));
        let pruned = Prune {
            older_than: Some(Duration::from_secs(3600)),
            ..Prune::default()
        }
        .run(&store);
        assert_eq!((pruned.removed, pruned.kept), (1, 1));
        assert!(store.get("aa01").is_none() && store.get("bb02").is_some());
        let all = Prune {
            all: true,
            ..Prune::default()
        }
        .run(&store);
        assert_eq!((all.removed, all.kept, all.size), (1, 0, 0));
        assert!(
            store.last_parts("w", "bb02").is_none(),
            "the index goes too"
        );
    }
}
