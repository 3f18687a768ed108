//! Atomic file writes: a reader sees the old file or the new one, never a part of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// part: a temporary file beside it, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    write_temp(&tmp, bytes)?;
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// The temporary file [`write_atomic`] writes before renaming: `.NAME.tmp` beside `path`.
/// A process killed while writing leaves it behind; readers ignore it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    path.with_file_name(format!(".{name}.tmp"))
}

fn write_temp(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_before_the_rename_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        write_atomic(&path, br#"{"n": 1}"#).unwrap();
        // The crash: the temporary file is half written and never renamed.
        std::fs::write(temp_path(&path), br#"{"n": 2, "trunc"#).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), br#"{"n": 1}"#);
        write_atomic(&path, br#"{"n": 3}"#).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), br#"{"n": 3}"#);
        assert!(
            !temp_path(&path).exists(),
            "the next write replaces the leftover"
        );
    }
}
