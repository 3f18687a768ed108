//! The working trees of a session: the git repository the run works in, where the
//! worktrees of its isolated steps and its patches go, and which files are weft's own;
//! worktrees that a run which died left behind are removed first. And the check, for
//! `weft validate`, `plan`, `run` and `resume`, that a workflow with `isolation:
//! worktree` runs inside a git repository.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::tree::TreeSetup;
use crate::git::Repo;
use crate::report::process_alive;
use crate::typing::Checked;
use crate::vocab::Isolation;
use crate::workflow::{Diagnostic, Diagnostics, LoadError, Workflow};

/// The trees of run `run_id` working in `workdir`, with its record under `runs_dir` and
/// `outputs` (event and JUnit files) of its own; leftovers of dead runs in that
/// repository are removed (and named on `err`).
pub(super) fn setup(
    run_id: &str,
    workdir: &Path,
    runs_dir: &Path,
    outputs: &[&Path],
    err: &mut dyn Write,
) -> TreeSetup {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or(p.to_path_buf());
    let repo = Repo::discover(workdir).ok().flatten();
    if let Some(repo) = &repo {
        remove_leftovers(repo, err);
    }
    let mut own: Vec<PathBuf> = vec![absolute(runs_dir)];
    own.extend(outputs.iter().map(|p| absolute(p)));
    TreeSetup {
        repo,
        record: absolute(&runs_dir.join(run_id)),
        shown: runs_dir.join(run_id),
        worktrees: std::env::temp_dir(),
        own,
        run_id: run_id.to_string(),
    }
}

/// Removes the worktrees that weft runs which are gone left in `repo`.
fn remove_leftovers(repo: &Repo, err: &mut dyn Write) {
    match repo.remove_leftovers(process_alive) {
        Ok(removed) => {
            for path in removed {
                let _ = writeln!(
                    err,
                    "note: removed worktree `{}`, left by a weft run that stopped",
                    path.display()
                );
            }
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "warning: could not look for worktrees left by earlier runs: {e}"
            );
        }
    }
}

/// `checked`, or an error when a step runs in worktrees and `dir` (where the run works)
/// is not inside a git repository.
pub(super) fn check_repo(checked: Checked, dir: &Path) -> Result<Checked, LoadError> {
    let errors = repo_problems(&checked.workflow, dir);
    if errors.is_empty() {
        return Ok(checked);
    }
    let mut diagnostics = checked.warnings;
    diagnostics.0.extend(errors.0);
    diagnostics.sort();
    Err(LoadError::Invalid {
        source_file: checked.workflow.source.clone(),
        diagnostics,
    })
}

/// One error per step with `isolation: worktree` (at the `isolation` that gives it)
/// when `dir` is not inside a git repository.
pub(super) fn repo_problems(workflow: &Workflow, dir: &Path) -> Diagnostics {
    let mut out = Diagnostics::default();
    let isolated: Vec<_> = workflow
        .steps
        .iter()
        .filter(|s| workflow.tree_options(s).isolation() == Isolation::Worktree)
        .collect();
    if isolated.is_empty() {
        return out;
    }
    let why = match Repo::discover(dir) {
        Ok(Some(_)) => return out,
        Ok(None) => format!("`{}` is not inside a git repository", dir.display()),
        Err(e) => format!("git cannot be run ({e})"),
    };
    for step in isolated {
        let tree = workflow.tree_options(step);
        let Some(at) = tree.isolation else { continue };
        out.push(
            Diagnostic::new(
                at.span,
                format!("step `{}` runs in a git worktree (`isolation: worktree`), but {why}", step.id.value),
            )
            .with_help("run weft inside a git repository (`git init`, then commit), or remove `isolation: worktree`"),
        );
    }
    out
}
