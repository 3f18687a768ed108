//! Patches between trees: a binary-safe unified diff (`git diff --binary --full-index`,
//! which `git apply` takes back, and which names the blobs on both sides so that a
//! three-way merge can fall back on them), the paths it changes, patches merged in order
//! in a temporary index, and a patch applied to a working tree's files only.

use std::path::Path;

use super::command::Git;
use super::error::GitError;
use super::repo::Repo;

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One changed path (relative to the top of the repository, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    /// Lines added and removed; `None` for a binary file.
    pub lines: Option<(u64, u64)>,
}

/// Patches merged in order: the resulting tree, and the patches left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub tree: String,
    /// Each patch that did not merge cleanly: its position, the files git could not
    /// merge, and what git said.
    pub conflicts: Vec<(usize, Vec<String>, String)>,
}

const DIFF: [&str; 8] = [
    "diff",
    "--binary",
    "--full-index",
    "--no-renames",
    "--no-color",
    "--no-ext-diff",
    "--src-prefix=a/",
    "--dst-prefix=b/",
];

impl Repo {
    /// The patch that turns tree `from` into tree `to` (empty when they are the same).
    pub fn diff(&self, from: &str, to: &str) -> Result<Vec<u8>, GitError> {
        Git::new(self.root())
            .args(DIFF)
            .args(["--no-textconv", "--no-relative", from, to])
            .output()
    }

    /// The paths that differ between trees `from` and `to`, in path order.
    pub fn changes(&self, from: &str, to: &str) -> Result<Vec<Change>, GitError> {
        let status = Git::new(self.root())
            .args([
                "diff",
                "--name-status",
                "-z",
                "--no-renames",
                "--no-relative",
            ])
            .args([from, to])
            .output()?;
        let numstat = Git::new(self.root())
            .args(["diff", "--numstat", "-z", "--no-renames", "--no-relative"])
            .args([from, to])
            .output()?;
        let fields: Vec<String> = split_z(&status);
        let mut changes: Vec<Change> = fields
            .chunks(2)
            .filter(|pair| pair.len() == 2)
            .map(|pair| Change {
                kind: match pair[0].as_str() {
                    "A" => ChangeKind::Added,
                    "D" => ChangeKind::Deleted,
                    _ => ChangeKind::Modified,
                },
                path: pair[1].clone(),
                lines: None,
            })
            .collect();
        for record in split_z(&numstat) {
            let mut parts = record.splitn(3, '\t');
            let (Some(add), Some(del), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if let Some(c) = changes.iter_mut().find(|c| c.path == path) {
                c.lines = add.parse().ok().zip(del.parse().ok());
            }
        }
        Ok(changes)
    }

    /// Conflict markers left in tree `to` that tree `from` did not have: `path:line`.
    pub fn conflict_markers(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        let (_, out, _) = Git::new(self.root())
            .args(["diff", "--check", "--no-color", "--no-relative", from, to])
            .status()?;
        Ok(out
            .lines()
            .filter(|l| l.ends_with("leftover conflict marker"))
            .filter_map(|l| l.rsplit_once(": ").map(|(at, _)| at.to_string()))
            .collect())
    }

    /// Applies `patch` to the working tree at `dir` with a three-way merge where its
    /// context does not match, leaving conflict markers in the files it could not merge
    /// (and the merge in that worktree's own index). Whether it merged cleanly, and what
    /// git said.
    pub fn apply_with_markers(&self, dir: &Path, patch: &Path) -> Result<(bool, String), GitError> {
        let (ok, _, err) = Git::new(dir)
            .args(["apply", "--3way", "--whitespace=nowarn"])
            .args([patch.as_os_str()])
            .status()?;
        Ok((ok, err))
    }
}

impl Repo {
    /// The files with unmerged entries in the index of the worktree at `dir`.
    pub fn unmerged(&self, dir: &Path) -> Result<Vec<String>, GitError> {
        let out = Git::new(dir).args(["ls-files", "-u", "-z"]).output()?;
        let mut files: Vec<String> = split_z(&out)
            .iter()
            .filter_map(|entry| entry.split_once('\t').map(|(_, p)| p.to_string()))
            .collect();
        files.dedup();
        Ok(files)
    }
}

/// Merges `patches` in order onto tree `base`, in a temporary index: each is applied with
/// a three-way merge where its context does not match; one that still conflicts is left
/// out and the next applies to the tree as it was before it.
pub fn merge_patches(repo: &Repo, base: &str, patches: &[&Path]) -> Result<Applied, GitError> {
    let temp = tempfile::Builder::new()
        .prefix("weft-merge-")
        .tempdir()
        .map_err(|e| GitError::io(std::env::temp_dir(), e))?;
    let index = temp.path().join("index");
    let git = || Git::new(repo.root()).index(&index);
    git().args(["read-tree", base]).output()?;
    let mut tree = base.to_string();
    let mut conflicts = Vec::new();
    for (n, patch) in patches.iter().enumerate() {
        let (ok, _, said) = git()
            .args(["apply", "--cached", "--3way", "--whitespace=nowarn"])
            .args([patch.as_os_str()])
            .status()?;
        if ok {
            tree = git().args(["write-tree"]).text()?;
            continue;
        }
        let unmerged = git().args(["ls-files", "-u", "-z"]).output()?;
        let mut files: Vec<String> = split_z(&unmerged)
            .iter()
            .filter_map(|entry| entry.split_once('\t').map(|(_, p)| p.to_string()))
            .collect();
        files.dedup();
        conflicts.push((n, files, said));
        git().args(["read-tree", &tree]).output()?;
    }
    Ok(Applied { tree, conflicts })
}

/// Applies `patch` to the files of the working tree at `dir` (never to an index): all of
/// it, or nothing when any part does not apply.
pub fn apply_to_tree(dir: &Path, patch: &Path) -> Result<(), GitError> {
    Git::new(dir)
        .args(["apply", "--whitespace=nowarn"])
        .args([patch.as_os_str()])
        .output()
        .map(drop)
}

/// Whether the files in `dir` have the changes of `patch` already: it applies in reverse.
/// (A run killed after applying a step's patch, before saving that it had, is resumed.)
pub fn applied_already(dir: &Path, patch: &Path) -> bool {
    Git::new(dir)
        .args(["apply", "--reverse", "--check", "--whitespace=nowarn"])
        .args([patch.as_os_str()])
        .output()
        .is_ok()
}

/// Whether `patch` applies cleanly to the files of the working tree at `dir` (`git apply
/// --check`: nothing is changed).
pub fn applies_to_tree(dir: &Path, patch: &Path) -> Result<bool, GitError> {
    let (ok, _, _) = Git::new(dir)
        .args(["apply", "--check", "--whitespace=nowarn"])
        .args([patch.as_os_str()])
        .status()?;
    Ok(ok)
}

/// The hunk headers (`@@ -1,5 +1,5 @@`) of `path` in the unified diff `patch`.
pub fn conflict_hunks(patch: &str, path: &str) -> Vec<String> {
    let header = format!("diff --git a/{path} b/{path}");
    let mut inside = false;
    let mut hunks = Vec::new();
    for line in patch.lines() {
        if line.starts_with("diff --git ") {
            inside = line == header;
        } else if inside && line.starts_with("@@ ") {
            let end = line[3..].find(" @@").map_or(line.len(), |i| i + 6);
            hunks.push(line[..end].to_string());
        }
    }
    hunks
}

fn split_z(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::repo::tests::repo_with;
    use super::*;

    const LINES: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";

    /// The patch from the repository's `HEAD` to `HEAD` with `path` holding `text`.
    fn patch(repo: &Repo, dir: &Path, edits: &[(&str, &str)], name: &str) -> std::path::PathBuf {
        let base = repo.snapshot(&[]).unwrap();
        let wt = dir.join(format!("wt-{name}"));
        repo.add_worktree(&wt, &base.commit).unwrap();
        for (path, text) in edits {
            std::fs::write(wt.join(path), text).unwrap();
        }
        let tree = repo.tree_of(&wt, &[]).unwrap();
        let file = dir.join(format!("{name}.patch"));
        std::fs::write(&file, repo.diff(&base.tree, &tree).unwrap()).unwrap();
        repo.remove_worktree(&wt).unwrap();
        file
    }

    #[test]
    fn patches_of_different_places_merge_and_the_same_lines_conflict() {
        let (dir, repo) = repo_with(&[("f.txt", LINES)]);
        let base = repo.snapshot(&[]).unwrap();
        let top = patch(
            &repo,
            dir.path(),
            &[("f.txt", &LINES.replace("b\n", "B\n"))],
            "top",
        );
        let end = patch(
            &repo,
            dir.path(),
            &[("f.txt", &LINES.replace("i\n", "I\n"))],
            "end",
        );
        let same = patch(
            &repo,
            dir.path(),
            &[("f.txt", &LINES.replace("b\n", "X\n"))],
            "same",
        );
        let new = patch(&repo, dir.path(), &[("n.bin", "\0\u{1}binary")], "new");
        let merged = merge_patches(&repo, &base.tree, &[&top, &end, &same, &new]).unwrap();
        assert_eq!(merged.conflicts.len(), 1);
        let (at, files, said) = &merged.conflicts[0];
        assert_eq!((*at, files.clone()), (2, vec!["f.txt".to_string()]));
        assert!(said.contains("f.txt"), "{said}");
        let changes = repo.changes(&base.tree, &merged.tree).unwrap();
        let paths: Vec<(&str, ChangeKind)> =
            changes.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(
            paths,
            vec![
                ("f.txt", ChangeKind::Modified),
                ("n.bin", ChangeKind::Added)
            ]
        );
        assert_eq!(changes[0].lines, Some((2, 2)));
        assert_eq!(changes[1].lines, None, "binary");
        let text = std::fs::read_to_string(&same).unwrap();
        assert_eq!(conflict_hunks(&text, "f.txt"), vec!["@@ -1,5 +1,5 @@"]);
    }

    #[test]
    fn a_patch_applies_to_the_files_only_and_all_or_nothing() {
        let (dir, repo) = repo_with(&[("f.txt", LINES), ("g.txt", "g\n")]);
        let both = patch(
            &repo,
            dir.path(),
            &[("f.txt", &LINES.replace("b\n", "B\n")), ("g.txt", "G\n")],
            "both",
        );
        std::fs::write(repo.root().join("g.txt"), "changed meanwhile\n").unwrap();
        assert!(apply_to_tree(repo.root(), &both).is_err());
        let f = std::fs::read_to_string(repo.root().join("f.txt")).unwrap();
        assert_eq!(f, LINES, "nothing applied");
        std::fs::write(repo.root().join("g.txt"), "g\n").unwrap();
        apply_to_tree(repo.root(), &both).unwrap();
        let f = std::fs::read_to_string(repo.root().join("f.txt")).unwrap();
        assert!(f.starts_with("a\nB\n"));
        let staged = Git::new(repo.root())
            .args(["diff", "--cached", "--name-only"])
            .text()
            .unwrap();
        assert_eq!(staged, "", "the index is untouched");
    }

    #[test]
    fn markers_left_in_a_tree_are_found() {
        let (dir, repo) = repo_with(&[("f.txt", LINES)]);
        let base = repo.snapshot(&[]).unwrap();
        let wt = dir.path().join("wt");
        repo.add_worktree(&wt, &base.commit).unwrap();
        let one = patch(
            &repo,
            dir.path(),
            &[("f.txt", &LINES.replace("b\n", "B\n"))],
            "one",
        );
        let two = patch(
            &repo,
            dir.path(),
            &[("f.txt", &LINES.replace("b\n", "X\n"))],
            "two",
        );
        assert!(repo.apply_with_markers(&wt, &one).unwrap().0);
        let (clean, said) = repo.apply_with_markers(&wt, &two).unwrap();
        assert!(!clean, "{said}");
        let text = std::fs::read_to_string(wt.join("f.txt")).unwrap();
        assert!(text.contains("<<<<<<<"), "{text}");
        let tree = repo.tree_of(&wt, &[]).unwrap();
        let markers = repo.conflict_markers(&base.tree, &tree).unwrap();
        assert_eq!(markers, vec!["f.txt:2", "f.txt:4", "f.txt:6"]);
    }

    #[test]
    fn a_patch_the_tree_has_already_is_told_from_one_it_does_not() {
        let (dir, repo) = repo_with(&[("f.txt", LINES)]);
        let append = patch(
            &repo,
            dir.path(),
            &[("f.txt", &format!("{LINES}k\n"))],
            "append",
        );
        let root = repo.root().to_path_buf();
        assert!(!applied_already(&root, &append));
        apply_to_tree(&root, &append).unwrap();
        assert!(applied_already(&root, &append));
        assert!(
            apply_to_tree(&root, &append).is_err(),
            "an append does not go twice"
        );
        let text = std::fs::read_to_string(root.join("f.txt")).unwrap();
        assert_eq!(text, format!("{LINES}k\n"));
    }
}
