//! Checks of `cache` and `reads` on the plan (where every step's policies are known): a
//! step asking to be cached that never can be gets a warning saying why (see
//! [`Eligible`]), and `reads` patterns are relative.

use super::Eligible;
use super::build::Plan;
use super::policies::Policies;
use crate::workflow::{Diagnostic, Diagnostics, Spanned, Step, ThreadRef, Workflow};

/// What decides whether `step` of `workflow` can be cached.
pub fn eligibility(workflow: &Workflow, step: &Step) -> Eligible {
    let policies = Policies::resolve(workflow, step);
    let tree = workflow.tree_options(step);
    let rules = &policies.approvals;
    Eligible {
        kind: step.kind.name(),
        looping: step.looping.is_some(),
        call: step.call.is_some(),
        fresh_thread: step.thread == ThreadRef::Fresh,
        repair: workflow.repair_of(&step.id.value).is_some(),
        isolated: tree.isolation() == crate::vocab::Isolation::Worktree,
        writes: tree.writes.is_some(),
        sandbox: policies.sandbox,
        approval: policies.approval,
        approves: rules.commands.as_ref().is_some_and(|c| !c.is_empty())
            || rules.files.as_ref().is_some_and(|f| !f.is_empty()),
    }
}

/// The diagnostics of `cache` and `reads` of every step of `plan`.
pub fn cache_diagnostics(plan: &Plan) -> Diagnostics {
    let mut out = Diagnostics::default();
    for (i, planned) in plan.steps.iter().enumerate() {
        let workflow = plan.workflow_of(i);
        let Some(step) = workflow.steps.get(planned.local) else {
            continue;
        };
        let file = &workflow.source;
        let options = workflow.cache_options(step);
        if let Some(reads) = &options.reads {
            for d in absolute_reads(reads, &step.id.value) {
                out.push(d.in_file_unless_top(planned.scope, file));
            }
        }
        let own = step.options.cache.cache.as_ref().filter(|c| c.value);
        if !options.enabled() || (own.is_none() && matches!(step.kind.name(), "gate")) {
            continue;
        }
        let Some(why) = eligibility(workflow, step).declined() else {
            continue;
        };
        let span = own.map_or(step.id.span, |c| c.span);
        let d = Diagnostic::warning(
            span,
            format!(
                "step `{}` is never served from the cache: {why}",
                step.id.value
            ),
        )
        .with_help("remove `cache: true` from it, or change what the message names");
        out.push(d.in_file_unless_top(planned.scope, file));
    }
    out
}

fn absolute_reads(reads: &Spanned<Vec<String>>, id: &str) -> Vec<Diagnostic> {
    reads
        .value
        .iter()
        .filter(|p| p.starts_with('/'))
        .map(|pattern| {
            Diagnostic::new(
                reads.span,
                format!("`reads` pattern `{pattern}` of step `{id}` is absolute"),
            )
            .with_help("patterns are relative to the step's `cwd`: write `src/**`")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(text: &str) -> String {
        let (workflow, plan) =
            crate::plan::load_str("w.yaml", text, std::path::Path::new(".")).expect("loads");
        cache_diagnostics(&plan).render(&workflow.source)
    }

    #[test]
    fn a_cached_step_that_can_never_be_served_is_warned_about_where_it_says_so() {
        let text = "threads:\n  t: {}\nsteps:\n  a:\n    cache: true\n    thread: t\n    prompt: hi\n  b:\n    cache: true\n    sandbox: workspace-write\n    prompt: edit\n  ok:\n    cache: true\n    sandbox: workspace-write\n    isolation: worktree\n    prompt: edit\n";
        let text = warnings(text);
        assert!(text.contains("w.yaml:5:12"), "{text}");
        assert!(
            text.contains("step `a` is never served from the cache: a turn on a named"),
            "{text}"
        );
        assert!(text.contains("w.yaml:9:12"), "{text}");
        assert!(text.contains("`isolation: worktree` or `writes`"), "{text}");
        assert!(!text.contains("step `ok`"), "{text}");
    }

    #[test]
    fn defaults_do_not_warn_about_gates_and_reads_must_be_relative() {
        let text = "defaults:\n  cache: true\nsteps:\n  g:\n    gate: go?\n  a:\n    reads: [\"/etc/**\"]\n    prompt: hi\n";
        let text = warnings(text);
        assert!(!text.contains("step `g`"), "{text}");
        assert!(
            text.contains("`reads` pattern `/etc/**` of step `a` is absolute"),
            "{text}"
        );
    }
}
