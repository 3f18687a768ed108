//! Checks of `isolation`, `writes` and `on_conflict`: a repair step exists, repairs one
//! step, runs once (no `for_each`, no `if`), and the step it repairs runs in worktrees;
//! `writes` patterns are relative. (Whether the directory weft runs in is a git
//! repository is checked where that directory is known: `weft validate`, `plan`, `run`.)

use super::diagnostic::{Diagnostic, Diagnostics, suggest};
use super::model::{Step, Workflow};
use super::spanned::Spanned;
use crate::vocab::Isolation;

/// Run the checks on every step of `workflow`.
pub fn check(workflow: &Workflow, out: &mut Diagnostics) {
    check_writes(&workflow.defaults.tree.writes, "`defaults`", out);
    for step in &workflow.steps {
        let whose = format!("step `{}`", step.id.value);
        check_writes(&step.options.tree.writes, &whose, out);
        let Some(repair) = &step.on_conflict else {
            continue;
        };
        let id = &step.id.value;
        if repair.value == *id {
            out.error(repair.span, format!("step `{id}` cannot repair itself"));
            continue;
        }
        let Some(target) = workflow.step(&repair.value) else {
            let hint = suggest(
                &repair.value,
                workflow.steps.iter().map(|s| s.id.value.as_str()),
            );
            out.push(
                Diagnostic::new(
                    repair.span,
                    format!(
                        "`on_conflict` of step `{id}` names unknown step `{}`{hint}",
                        repair.value
                    ),
                )
                .with_help("name a step of this workflow that resolves the conflict"),
            );
            continue;
        };
        if workflow.tree_options(step).isolation() != Isolation::Worktree {
            out.push(
                Diagnostic::new(repair.span, format!("`on_conflict` of step `{id}` needs `isolation: worktree`"))
                    .with_help(format!("only a step that runs in worktrees has patches that can conflict: add `isolation: worktree` to step `{id}` (or to `defaults`)")),
            );
        }
        check_repair(workflow, step, target, out);
    }
}

/// A repair step runs once, when asked: no `for_each`, no `if`, one step to repair.
fn check_repair(workflow: &Workflow, step: &Step, target: &Step, out: &mut Diagnostics) {
    let (id, rid) = (&step.id.value, &target.id.value);
    if let Some(each) = &target.for_each {
        out.push(
            Diagnostic::new(
                each.span,
                format!("repair step `{rid}` cannot have `for_each`"),
            )
            .with_help(format!(
                "a repair is one turn that resolves the conflict of `{id}`"
            )),
        );
    }
    if let Some(cond) = &target.if_expr {
        out.push(
            Diagnostic::new(cond.span, format!("repair step `{rid}` cannot have `if`")).with_help(
                format!("it runs exactly when the patches of `{id}` conflict"),
            ),
        );
    }
    if let Some(first) = workflow.repair_of(rid).filter(|s| s.id.value != *id) {
        let span = step.on_conflict.as_ref().map_or(step.id.span, |r| r.span);
        out.push(
            Diagnostic::new(
                span,
                format!("step `{rid}` already repairs step `{}`", first.id.value),
            )
            .with_help("give each step with `on_conflict` a repair step of its own"),
        );
    }
}

fn check_writes(writes: &Option<Spanned<Vec<String>>>, whose: &str, out: &mut Diagnostics) {
    let Some(writes) = writes else {
        return;
    };
    for pattern in writes.value.iter().filter(|p| p.starts_with('/')) {
        out.push(
            Diagnostic::new(
                writes.span,
                format!("`writes` pattern `{pattern}` of {whose} is absolute"),
            )
            .with_help("patterns are relative to the step's `cwd`: write `src/**`"),
        );
    }
}
