//! [`Draft`]: a unit's cache key as far as it is known when the unit is made: every part
//! but `files`, which is read when the unit starts (earlier steps may change the tree
//! until then). A turn's parts are what it sends (the rendered prompt, output schema,
//! model, effort, policies, approval rules, developer instructions, config, network,
//! environment, a fresh thread) and the codex it runs on; a script's are its text, shell,
//! rendered `env` and output format. Both add where their changes go (`isolation`,
//! `writes`). Nothing that differs from run to run by itself (the run's id, its
//! directory, the worktree a unit runs in) is part of a key.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::setup::CacheRun;
use crate::cache::KeyParts;
use crate::engine::launch::UnitInput;
use crate::engine::script::render_env;
use crate::engine::spec::{StepSpec, UnitKind};
use crate::engine::turn::render_policies;
use crate::vocab::Isolation;

/// Where a unit's changes to files go, so that a hit can reproduce them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum Effect {
    /// It changes no files.
    None,
    /// A worktree of its own: its patch comes back with the step's merge.
    Isolated,
    /// The shared tree under `writes`: its patch is applied at once.
    Scoped,
}

/// A unit's key without its `files` part.
#[derive(Debug, Clone)]
pub(in crate::engine) struct Draft {
    pub parts: KeyParts,
    pub step: String,
    /// The unit's name in patch files (`split.1`).
    pub name: String,
    /// The step's `cwd` (before any worktree) and `reads`.
    pub cwd: PathBuf,
    pub reads: Option<Vec<String>>,
    pub effect: Effect,
}

/// The draft of `input`'s unit when its step is cached and the unit can be keyed (a
/// template that does not render is left to the unit, which says so).
pub(in crate::engine) fn draft(run: &CacheRun, input: &UnitInput<'_>) -> Option<Draft> {
    let step = input.step;
    if input.within.is_some() || !run.wants(step) {
        return None;
    }
    let mut parts = KeyParts::default();
    match &step.kind {
        UnitKind::Turn => turn_parts(run, input, &mut parts)?,
        UnitKind::Script(script) => {
            let env =
                render_env(&step.env, step.scope, None, input.context, input.renderer).ok()?;
            parts.add("kind", &json!("script"));
            parts.add(
                "script",
                &json!({
                    "run": script.run,
                    "shell": step.shell.argv(""),
                    "output": script.output,
                }),
            );
            parts.add("env", &json!(env));
            parts.add("output_schema", &json!(step.output_schema));
        }
        UnitKind::Gate(_) => return None,
    }
    parts.add(
        "tree",
        &json!({ "isolation": step.isolation, "writes": step.writes }),
    );
    Some(Draft {
        parts,
        step: step.id.clone(),
        name: match input.key.index {
            Some(i) => format!("{}.{i}", step.id),
            None => step.id.clone(),
        },
        cwd: step.cwd.clone(),
        reads: step.reads.clone(),
        effect: effect(step),
    })
}

/// A turn's parts: what it sends, and the codex it runs on.
fn turn_parts(run: &CacheRun, input: &UnitInput<'_>, parts: &mut KeyParts) -> Option<()> {
    let step = input.step;
    let prompt = input
        .renderer
        .render_in(step.scope, &step.prompt, input.context)
        .ok()?;
    let (model, effort) = render_policies(step, input.renderer, input.context).ok()?;
    let named: [(&str, Value); 11] = [
        ("kind", json!("turn")),
        ("prompt", json!(prompt)),
        ("output_schema", json!(step.output_schema)),
        ("model", json!(model)),
        ("effort", json!(effort)),
        ("policies", policies(step)),
        ("developer_instructions", json!(step.developer_instructions)),
        ("config", json!(step.config)),
        ("network", json!(step.network)),
        ("environment", json!(step.environment)),
        ("thread", json!({ "mode": "fresh", "history": [] })),
    ];
    for (name, value) in &named {
        parts.add(name, value);
    }
    parts.add("codex", &run.codex);
    Some(())
}

fn policies(step: &StepSpec) -> Value {
    json!({
        "approval": step.approval,
        "sandbox": step.sandbox,
        "approve_commands": step.approve_commands,
        "approve_files": step.approve_files,
    })
}

fn effect(step: &StepSpec) -> Effect {
    if step.isolation == Isolation::Worktree {
        Effect::Isolated
    } else if step.writes.is_some() {
        Effect::Scoped
    } else {
        Effect::None
    }
}
