//! File-change approvals: every path is made absolute and resolved the way the kernel
//! will resolve it when the file is written (symlinks followed, `..` applied after
//! them), then matched: a relative glob only inside the working directory, an absolute
//! glob anywhere.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::Verdict;
use crate::vocab::Glob;

/// The most symlinks followed for one path (the kernel's limit).
const MAX_HOPS: usize = 40;

pub(super) fn decide(globs: &[Glob], paths: &[PathBuf], cwd: &Path) -> Verdict {
    if globs.is_empty() {
        return Verdict::decline("the step allows no file changes".into());
    }
    if paths.is_empty() {
        return Verdict::decline("the request names no file".into());
    }
    let root = match resolve(cwd) {
        Ok(root) => root,
        Err(e) => {
            return Verdict::decline(format!(
                "the working directory `{}` cannot be resolved: {e}",
                cwd.display()
            ));
        }
    };
    for path in paths {
        if let Err(reason) = check(globs, &cwd.join(path), &root) {
            return Verdict::decline(reason);
        }
    }
    let shown: Vec<&str> = globs.iter().map(Glob::as_str).collect();
    Verdict::accept(format!(
        "every path matches one of `{}`",
        shown.join("`, `")
    ))
}

fn check(globs: &[Glob], path: &Path, root: &Path) -> Result<(), String> {
    let real =
        resolve(path).map_err(|e| format!("`{}` cannot be resolved: {e}", path.display()))?;
    let absolute = real.to_string_lossy();
    if globs
        .iter()
        .any(|g| g.as_str().starts_with('/') && g.is_match(&absolute))
    {
        return Ok(());
    }
    let Ok(inside) = real.strip_prefix(root) else {
        let how = if path.starts_with(root) {
            format!("resolves to `{absolute}`, outside the working directory")
        } else {
            "is outside the working directory".to_string()
        };
        return Err(format!(
            "`{}` {how}: only an absolute glob allows it",
            path.display()
        ));
    };
    let relative = inside.to_string_lossy();
    if globs
        .iter()
        .any(|g| !g.as_str().starts_with('/') && g.is_match(&relative))
    {
        return Ok(());
    }
    Err(format!("`{relative}` matches no allowed file glob"))
}

/// Fails unless `dir`, resolved, is the working directory `cwd` or inside it.
pub(super) fn within(dir: &Path, cwd: &Path) -> Result<(), String> {
    let outside = || {
        format!(
            "the command would run in `{}`, outside the step's working directory",
            dir.display()
        )
    };
    match (resolve(&cwd.join(dir)), resolve(cwd)) {
        (Ok(real), Ok(root)) if real.starts_with(&root) => Ok(()),
        _ => Err(outside()),
    }
}

/// `path` (made absolute) as the kernel resolves it: each existing symlink replaced by its
/// target, `.` dropped and `..` applied to the directory reached so far. The part that
/// does not exist yet is kept as it is.
pub(super) fn resolve(path: &Path) -> io::Result<PathBuf> {
    let path = std::path::absolute(path)?;
    let mut pending: Vec<OsString> = parts(&path);
    let mut current = PathBuf::from("/");
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            current.pop();
            continue;
        }
        let candidate = current.join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(io::Error::other("too many levels of symbolic links"));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    current = PathBuf::from("/");
                }
                pending.extend(parts(&target));
            }
            Ok(_) => current = candidate,
            Err(e) if e.kind() == io::ErrorKind::NotFound => current = candidate,
            Err(e) => return Err(e),
        }
    }
    Ok(current)
}

/// The normal components of `path`, last first (a stack), `..` kept, `.` dropped.
fn parts(path: &Path) -> Vec<OsString> {
    let mut parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    parts.reverse();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn rules(files: &[&str]) -> Vec<Glob> {
        files.iter().map(|f| Glob::path(f)).collect()
    }

    #[test]
    fn relative_globs_apply_inside_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("repo");
        std::fs::create_dir_all(cwd.join("src/a")).unwrap();
        let globs = rules(&["src/**/*.rs", "Cargo.toml"]);
        let ok = |paths: &[&str]| {
            let p: Vec<PathBuf> = paths.iter().map(|p| cwd.join(p)).collect();
            decide(&globs, &p, &cwd).approved
        };
        assert!(ok(&[
            "src/lib.rs",
            "src/a/b.rs",
            "Cargo.toml",
            "src/new/dir/x.rs"
        ]));
        assert!(!ok(&["src/lib.rs", "build.rs"]));
        assert!(ok(&["src/a/../lib.rs"]), "`..` is applied");
        assert!(!ok(&["src/../../repo2/src/x.rs"]));
        assert!(!ok(&[]));
        let outside = decide(&globs, &[PathBuf::from("/etc/src/x.rs")], &cwd);
        assert!(!outside.approved);
        assert_eq!(
            outside.reason,
            "`/etc/src/x.rs` is outside the working directory: only an absolute glob allows it"
        );
    }

    #[test]
    fn a_symlink_out_of_the_working_directory_needs_an_absolute_glob() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("repo");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        symlink(&out, cwd.join("link")).unwrap();
        symlink(out.join("new.txt"), cwd.join("dangling.txt")).unwrap();
        let everything = rules(&["**"]);
        for path in ["link/x.txt", "dangling.txt", "link/../out2/x.txt"] {
            let v = decide(&everything, &[cwd.join(path)], &cwd);
            assert!(!v.approved, "{path}: {v:?}");
            assert!(
                v.reason.contains("outside the working directory"),
                "{path}: {}",
                v.reason
            );
        }
        assert!(decide(&everything, &[cwd.join("plain.txt")], &cwd).approved);
        assert!(
            decide(&everything, &[cwd.join("link/../repo/x.txt")], &cwd).approved,
            "`..` applies after the symlink, back inside"
        );
        let absolute = rules(&[&format!("{}/**", out.display())]);
        assert!(decide(&absolute, &[cwd.join("link/x.txt")], &cwd).approved);
        assert!(!decide(&absolute, &[cwd.join("plain.txt")], &cwd).approved);
    }

    #[test]
    fn symlink_loops_are_declined() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().to_path_buf();
        symlink(cwd.join("b"), cwd.join("a")).unwrap();
        symlink(cwd.join("a"), cwd.join("b")).unwrap();
        let v = decide(&rules(&["**"]), &[cwd.join("a/x")], &cwd);
        assert!(!v.approved);
        assert!(v.reason.contains("symbolic links"), "{}", v.reason);
    }
}
