//! The checks of what a workflow composes: a step's `pool` is declared, `with` fits the
//! called workflow's inputs, a pool shared with a called workflow has one size,
//! `network` only goes with a `workspace-write` sandbox, and where `model` and `effort`
//! templates are written.

use super::calls::check_with;
use super::diagnostic::{Diagnostic, Diagnostics, suggest};
use super::model::{Step, Workflow};
use super::spanned::Spanned;
use crate::vocab::Sandbox;

/// The composition checks of `step`.
pub fn check_step(workflow: &Workflow, step: &Step, out: &mut Diagnostics) {
    if let Some(pool) = &step.pool {
        if workflow.pool(&pool.value).is_none() {
            let hint = suggest(
                &pool.value,
                workflow.pools.iter().map(|p| p.name.value.as_str()),
            );
            out.push(
                Diagnostic::new(pool.span, format!("unknown pool `{}`{hint}", pool.value))
                    .with_help(format!(
                        "declare it at the top: `pools: {{ {}: 2 }}`",
                        pool.value
                    )),
            );
        }
    }
    if let Some(call) = &step.call {
        if let Some(callee) = &call.workflow {
            check_with(&step.id.value, call, callee, out);
            check_shared_pools(workflow, callee, &call.uses.value, out);
        }
        return;
    }
    check_network(workflow, step, out);
}

/// A pool is the run's: a called workflow that declares one of this file's pools must
/// give it the same size.
fn check_shared_pools(workflow: &Workflow, callee: &Workflow, uses: &str, out: &mut Diagnostics) {
    for pool in &workflow.pools {
        if let Some(other) = callee.pool(&pool.name.value) {
            if other.size != pool.size {
                out.push(
                    Diagnostic::new(
                        pool.name.span,
                        format!(
                            "pool `{}` holds {} here and {} in `{uses}`",
                            pool.name.value, pool.size, other.size
                        ),
                    )
                    .with_help("a pool is shared by the whole run: give it one size in every file"),
                );
            }
        }
    }
}

/// `network: true` opens the network of a `workspace-write` sandbox; on another sandbox
/// it would say something the run does not do.
fn check_network(workflow: &Workflow, step: &Step, out: &mut Diagnostics) {
    let mut options = workflow.defaults.clone();
    if let Some(thread) = step.thread.name().and_then(|n| workflow.thread(n)) {
        options = options.overlay(&thread.options);
    }
    let options = options.overlay(&step.options);
    let Some(network) = options.network.filter(|n| n.value) else {
        return;
    };
    let sandbox = options.sandbox.unwrap_or_default();
    if sandbox != Sandbox::WorkspaceWrite {
        let what = match sandbox {
            Sandbox::DangerFullAccess => "has the network already".to_string(),
            other => format!("runs `{}`", other.as_str()),
        };
        out.push(
            Diagnostic::new(
                network.span,
                format!(
                    "`network: true` applies to the `workspace-write` sandbox, and step `{}` {what}",
                    step.id.value
                ),
            )
            .with_help("set `sandbox: workspace-write` beside it, or remove `network`"),
        );
    }
}

/// Every `model` and `effort` written as a template, where it is written, with its name
/// in messages.
pub fn policy_templates(workflow: &Workflow) -> Vec<(&'static str, &Spanned<String>)> {
    let mut out = Vec::new();
    let options = std::iter::once(&workflow.defaults)
        .chain(workflow.threads.iter().map(|t| &t.options))
        .chain(workflow.steps.iter().map(|s| &s.options));
    for o in options {
        out.extend(o.model_template.as_ref().map(|t| ("model", t)));
        out.extend(o.effort_template.as_ref().map(|t| ("effort", t)));
    }
    out
}
