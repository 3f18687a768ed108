//! The scratch workspace of a `weft test` run: a copy of a fixture directory, and which
//! files a run added, modified or deleted in it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// Directories that builds and runs create, left out of copies and comparisons.
const IGNORED: [&str; 3] = ["target", ".weft", ".git"];

/// Copies the directory `from` into `to` (created), leaving out [`IGNORED`] directories.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            if !IGNORED.iter().any(|i| name == *i) {
                copy_dir(&entry.path(), &target)?;
            }
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Makes `dir` a git repository with one commit of what it holds (as a CI checkout is),
/// so that workflows with `isolation: worktree` run in it.
pub fn init_git(dir: &Path) -> Result<(), crate::git::GitError> {
    use crate::git::Git;
    Git::new(dir).args(["init", "-q"]).output()?;
    Git::new(dir).args(["add", "-A"]).output()?;
    Git::new(dir)
        .args([
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "weft test: the workspace",
        ])
        .output()
        .map(drop)
}

/// Every file under `root` (relative path, `/`-separated) and its contents.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !IGNORED.iter().any(|i| name == *i) {
                walk(root, &path, files);
            }
        } else if let (Ok(rel), Ok(bytes)) = (path.strip_prefix(root), std::fs::read(&path)) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.insert(rel.join("/"), bytes);
        }
    }
}

/// What changed between two snapshots: path → `added`, `modified` or `deleted`.
pub fn changes(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> Map<String, Value> {
    let mut out = BTreeMap::new();
    for (path, bytes) in after {
        match before.get(path) {
            None => out.insert(path.clone(), "added"),
            Some(old) if old != bytes => out.insert(path.clone(), "modified"),
            Some(_) => None,
        };
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        out.insert(path.clone(), "deleted");
    }
    out.into_iter()
        .map(|(k, v)| (k, Value::String(v.into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_added_modified_and_deleted_files_and_skip_build_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(a.join("src")).expect("mkdir");
        std::fs::write(a.join("src/keep.rs"), "same").expect("write");
        std::fs::write(a.join("src/edit.rs"), "old").expect("write");
        std::fs::write(a.join("gone.txt"), "x").expect("write");
        copy_dir(&a, &b).expect("copy");
        let before = snapshot(&b);
        std::fs::write(b.join("src/edit.rs"), "new").expect("write");
        std::fs::write(b.join("src/new.rs"), "n").expect("write");
        std::fs::remove_file(b.join("gone.txt")).expect("rm");
        std::fs::create_dir_all(b.join("target/debug")).expect("mkdir");
        std::fs::write(b.join("target/debug/out"), "bin").expect("write");
        let changed = changes(&before, &snapshot(&b));
        assert_eq!(
            serde_json::Value::Object(changed),
            serde_json::json!({"gone.txt": "deleted", "src/edit.rs": "modified", "src/new.rs": "added"})
        );
    }
}
