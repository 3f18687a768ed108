//! [`Files`]: the `files` part of a key: what a step may read from disk. In a git
//! repository, by default, the whole working tree as `git add -A` into a temporary index
//! sees it (tracked and untracked files, ignored ones left out; the user's index is never
//! touched), as one tree id; with `reads:`, only the files its globs match (relative to
//! the step's `cwd`), each by content. Outside a repository only `reads:` can say what a
//! step reads (its `cwd` is scanned); without it the step is not cached. weft's own files
//! (the workflow files, prompt and include files, `.weft/`, the cache) are left out:
//! what in them matters is already in the key.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::key::hex;
use crate::engine::tree::scan;
use crate::git::Repo;
use crate::vocab::Glob;

/// Where a run's steps read files from, and what is weft's own.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// The repository the run works in.
    pub repo: Option<Repo>,
    /// weft's own files and directories (absolute), never part of a fingerprint.
    pub own: Vec<PathBuf>,
}

impl Files {
    /// The fingerprint of what a step in `cwd` reads (`reads`: its globs), or why it
    /// cannot be taken.
    pub fn fingerprint(&self, cwd: &Path, reads: Option<&[String]>) -> Result<Value, String> {
        self.fingerprint_in(None, cwd, reads)
    }

    /// The working tree's tree id (weft's own files left out); `None` outside a
    /// repository.
    pub fn tree(&self) -> Option<Result<String, String>> {
        let repo = self.repo.as_ref()?;
        Some(
            repo.tree_of(repo.root(), &self.own)
                .map_err(|e| format!("could not read the working tree: {e}")),
        )
    }

    /// [`Files::fingerprint`], with the working tree's tree id when it is known already.
    pub fn fingerprint_in(
        &self,
        tree: Option<String>,
        cwd: &Path,
        reads: Option<&[String]>,
    ) -> Result<Value, String> {
        let Some(repo) = &self.repo else {
            let Some(reads) = reads else {
                return Err("outside a git repository a cached step needs `reads`".into());
            };
            let files = scan(cwd, &self.own)
                .into_iter()
                .filter(|(path, _)| matches(reads, path))
                .map(|(path, hash)| (path, Value::from(hex(&hash))))
                .collect::<Map<String, Value>>();
            return Ok(json!({ "reads": reads, "files": files }));
        };
        let rel = relative(repo, cwd)
            .ok_or_else(|| format!("`{}` is outside the git repository", cwd.display()))?;
        let tree = match tree {
            Some(tree) => tree,
            None => self
                .tree()
                .unwrap_or_else(|| Err("not in a repository".into()))?,
        };
        let Some(reads) = reads else {
            return Ok(json!({ "cwd": rel, "tree": tree }));
        };
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let blobs = repo
            .blobs(&tree)
            .map_err(|e| format!("could not list the working tree: {e}"))?;
        let files = blobs
            .into_iter()
            .filter_map(|(path, id)| {
                let under = path.strip_prefix(&prefix)?;
                matches(reads, under).then(|| (under.to_string(), Value::from(id)))
            })
            .collect::<Map<String, Value>>();
        Ok(json!({ "cwd": rel, "reads": reads, "files": files }))
    }
}

/// `cwd` relative to the repository's top level (`/`-separated; empty at the top).
fn relative(repo: &Repo, cwd: &Path) -> Option<String> {
    let full = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let root = repo
        .root()
        .canonicalize()
        .unwrap_or_else(|_| repo.root().to_path_buf());
    let rel = full.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn matches(reads: &[String], path: &str) -> bool {
    reads.iter().any(|p| Glob::path(p).is_match(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Git;

    fn repo(files: &[(&str, &str)]) -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        Git::new(&root).args(["init", "-q"]).output().unwrap();
        for (path, text) in files {
            write(&root, path, text);
        }
        let repo = Repo::discover(&root).unwrap().unwrap();
        (dir, repo)
    }

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn the_tree_changes_with_any_file_but_weft_own() {
        let (_dir, repo) = repo(&[("src/a.rs", "a"), ("flow.yaml", "steps: {}")]);
        let root = repo.root().to_path_buf();
        let files = Files {
            repo: Some(repo),
            own: vec![root.join("flow.yaml"), root.join(".weft")],
        };
        let first = files.fingerprint(&root, None).unwrap();
        write(&root, "flow.yaml", "steps: {changed: {}}");
        write(&root, ".weft/cache/entries/x.json", "{}");
        assert_eq!(files.fingerprint(&root, None).unwrap(), first);
        write(&root, "notes.txt", "untracked");
        let second = files.fingerprint(&root, None).unwrap();
        assert_ne!(second, first, "an untracked file counts");
        write(&root, ".gitignore", "notes.txt\n");
        write(&root, "src/a.rs", "b");
        assert_ne!(files.fingerprint(&root, None).unwrap(), second);
    }

    #[test]
    fn reads_limits_the_fingerprint_to_its_globs() {
        let (_dir, repo) = repo(&[("src/a.rs", "a"), ("docs/x.md", "x")]);
        let root = repo.root().to_path_buf();
        let files = Files {
            repo: Some(repo),
            own: Vec::new(),
        };
        let reads = ["src/**".to_string()];
        let first = files.fingerprint(&root, Some(&reads)).unwrap();
        write(&root, "docs/x.md", "changed");
        assert_eq!(files.fingerprint(&root, Some(&reads)).unwrap(), first);
        write(&root, "src/a.rs", "changed");
        assert_ne!(files.fingerprint(&root, Some(&reads)).unwrap(), first);
    }

    #[test]
    fn outside_a_repository_only_reads_can_say_what_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::default();
        let err = files.fingerprint(dir.path(), None).unwrap_err();
        assert!(err.contains("`reads`"), "{err}");
        write(dir.path(), "in.txt", "one");
        let reads = ["*.txt".to_string()];
        let first = files.fingerprint(dir.path(), Some(&reads)).unwrap();
        write(dir.path(), "other.md", "x");
        assert_eq!(files.fingerprint(dir.path(), Some(&reads)).unwrap(), first);
        write(dir.path(), "in.txt", "two");
        assert_ne!(files.fingerprint(dir.path(), Some(&reads)).unwrap(), first);
    }
}
