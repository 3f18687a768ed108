//! The fallback for `writes` outside a git repository: the step's `cwd` read whole
//! before and after the turn (every file's SHA-256; `.git` directories and weft's own
//! files left out), and the paths whose contents differ. It reads every file twice, so
//! it costs as much as the directory is large; build output counts as a change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Every file under `dir` (relative, `/`-separated) with the hash of its contents; a
/// symbolic link is hashed by its target, not followed.
pub(crate) fn scan(dir: &Path, skip: &[PathBuf]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    walk(dir, dir, skip, &mut files);
    files
}

/// The paths added, changed or removed between two scans.
pub(super) fn changed(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    let mut paths: Vec<String> = after
        .iter()
        .filter(|(p, h)| before.get(*p) != Some(*h))
        .map(|(p, _)| p.clone())
        .collect();
    paths.extend(before.keys().filter(|p| !after.contains_key(*p)).cloned());
    paths.sort();
    paths
}

fn walk(root: &Path, dir: &Path, skip: &[PathBuf], files: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() == ".git" || skip.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let hash = if kind.is_dir() {
            walk(root, &path, skip, files);
            continue;
        } else if kind.is_symlink() {
            std::fs::read_link(&path).map(|t| t.to_string_lossy().into_owned().into_bytes())
        } else {
            std::fs::read(&path)
        };
        let Ok(bytes) = hash else { continue };
        if let Ok(rel) = path.strip_prefix(root) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.insert(rel.join("/"), Sha256::digest(&bytes).to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_sees_added_changed_and_removed_files_but_not_skipped_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join(".weft/runs")).unwrap();
        std::fs::write(root.join("src/a.rs"), "a").unwrap();
        std::fs::write(root.join("gone.txt"), "g").unwrap();
        let skip = vec![root.join(".weft")];
        let before = scan(root, &skip);
        std::fs::write(root.join("src/a.rs"), "b").unwrap();
        std::fs::write(root.join("src/new.rs"), "n").unwrap();
        std::fs::remove_file(root.join("gone.txt")).unwrap();
        std::fs::write(root.join(".weft/runs/run.json"), "{}").unwrap();
        let after = scan(root, &skip);
        assert_eq!(
            changed(&before, &after),
            vec!["gone.txt", "src/a.rs", "src/new.rs"]
        );
    }
}
