//! A repository as weft uses it: where its top level is, and snapshots of a working tree
//! as it stands (tracked and untracked files, ignored ones left out) made with a temporary
//! index, so that the user's index, `HEAD`, branches and stash are never touched.

use std::path::{Path, PathBuf};

use super::command::{Git, absolute, top_pathspec};
use super::error::GitError;

/// A git repository, by the top level of its main working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    root: PathBuf,
}

/// A working tree's files at one moment, as a commit (parent: `HEAD`, when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub commit: String,
    pub tree: String,
}

impl Repo {
    /// The repository whose working tree holds `dir`, or `None` when there is none.
    pub fn discover(dir: &Path) -> Result<Option<Repo>, GitError> {
        let (ok, out, _) = Git::new(dir)
            .args(["rev-parse", "--show-toplevel"])
            .status()?;
        let top = out.trim();
        if !ok || top.is_empty() {
            return Ok(None);
        }
        Ok(Some(Repo {
            root: PathBuf::from(top),
        }))
    }

    /// The top level of its main working tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A snapshot of the main working tree, leaving out `exclude` (paths weft itself
    /// writes during a run, such as the run records).
    pub fn snapshot(&self, exclude: &[PathBuf]) -> Result<Snapshot, GitError> {
        let tree = self.tree_of(&self.root, exclude)?;
        let head = Git::new(&self.root)
            .args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
            .status()?;
        let mut args = vec!["commit-tree".to_string(), tree.clone()];
        if head.0 {
            args.extend(["-p".to_string(), head.1.trim().to_string()]);
        }
        args.extend([
            "-m".to_string(),
            "weft: snapshot of the working tree".into(),
        ]);
        let commit = Git::new(&self.root).args(args).text()?;
        Ok(Snapshot { commit, tree })
    }

    /// A commit of `tree` with parent `parent` (weft's own; no ref points to it).
    pub fn commit(&self, tree: &str, parent: &str) -> Result<String, GitError> {
        Git::new(&self.root)
            .args([
                "commit-tree",
                tree,
                "-p",
                parent,
                "-m",
                "weft: merge of a step's patches",
            ])
            .text()
    }

    /// The tree of the files in `dir` (the top of a working tree of this repository) as
    /// they are now. A temporary index, seeded with a copy of the working tree's own for
    /// speed, takes every change (`git add -A`); the tree is written from it.
    pub fn tree_of(&self, dir: &Path, exclude: &[PathBuf]) -> Result<String, GitError> {
        let temp = tempfile::Builder::new()
            .prefix("weft-index-")
            .tempdir()
            .map_err(|e| GitError::io(std::env::temp_dir(), e))?;
        let index = temp.path().join("index");
        let own = Git::new(dir)
            .args(["rev-parse", "--git-path", "index"])
            .text()?;
        let seeded = std::fs::copy(absolute(dir, Path::new(&own)), &index).is_ok();
        let mut add = vec!["add".to_string(), "-A".into(), "--".into(), ".".into()];
        for path in exclude {
            if let Ok(rel) = absolute(dir, path).strip_prefix(dir) {
                if !rel.as_os_str().is_empty() {
                    add.push(top_pathspec("top,exclude", rel));
                }
            }
        }
        let added = Git::new(dir).index(&index).args(&add).output();
        if added.is_err() && seeded {
            let _ = std::fs::remove_file(&index);
            Git::new(dir).index(&index).args(&add).output()?;
        } else {
            added?;
        }
        Git::new(dir).index(&index).args(["write-tree"]).text()
    }

    /// Every file of `tree` (recursively) with its blob's id, in path order.
    pub fn blobs(&self, tree: &str) -> Result<Vec<(String, String)>, GitError> {
        let out = Git::new(&self.root)
            .args(["ls-tree", "-r", "-z", tree])
            .output()?;
        Ok(out
            .split(|b| *b == 0)
            .filter_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                let (meta, path) = entry.split_once('\t')?;
                let id = meta.split_whitespace().nth(2)?;
                Some((path.to_string(), id.to_string()))
            })
            .collect())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A repository with one commit of `files`, in a temporary directory.
    pub fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        Git::new(&root).args(["init", "-q"]).output().unwrap();
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Git::new(&root).args(["add", "-A"]).output().unwrap();
        Git::new(&root)
            .args(["commit", "-q", "-m", "init"])
            .output()
            .unwrap();
        let repo = Repo::discover(&root).unwrap().unwrap();
        (dir, repo)
    }

    fn status(repo: &Repo) -> String {
        Git::new(repo.root())
            .args(["status", "--porcelain"])
            .text()
            .unwrap()
    }

    #[test]
    fn a_snapshot_holds_uncommitted_work_and_leaves_the_index_alone() {
        let (_dir, repo) = repo_with(&[("a.txt", "one\n")]);
        std::fs::write(repo.root().join("a.txt"), "two\n").unwrap();
        std::fs::write(repo.root().join("new.txt"), "new\n").unwrap();
        std::fs::create_dir_all(repo.root().join(".weft/runs")).unwrap();
        std::fs::write(repo.root().join(".weft/runs/r.json"), "{}").unwrap();
        let before = status(&repo);
        let snap = repo.snapshot(&[repo.root().join(".weft")]).unwrap();
        assert_eq!(status(&repo), before, "the user's index is untouched");
        let files = Git::new(repo.root())
            .args(["ls-tree", "-r", "--name-only", &snap.tree])
            .text()
            .unwrap();
        assert_eq!(files, "a.txt\nnew.txt");
        let a = Git::new(repo.root())
            .args(["show", &format!("{}:a.txt", snap.commit)])
            .text()
            .unwrap();
        assert_eq!(a, "two");
        let head = Git::new(repo.root())
            .args(["rev-parse", "HEAD"])
            .text()
            .unwrap();
        let parent = Git::new(repo.root())
            .args(["rev-parse", &format!("{}^", snap.commit)])
            .text()
            .unwrap();
        assert_eq!(
            parent, head,
            "the snapshot's parent is HEAD, which did not move"
        );
    }

    #[test]
    fn outside_a_repository_there_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Repo::discover(dir.path()).unwrap(), None);
    }
}
