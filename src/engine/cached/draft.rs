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
use crate::engine::cache::KeyParts;
use crate::engine::launch::UnitInput;
use crate::engine::script::render_env;
use crate::engine::spec::{StepSpec, UnitKind};
use crate::engine::turn::render_policies;
use crate::template::Renderer;
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
    if input.within.is_some() || !run.wants(input.step) {
        return None;
    }
    let step = input.step;
    let parts = key_parts(run, step, input.context, input.renderer)?;
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

/// The key parts of a unit of `step` in `context`, but `files`; `None` for a gate or a
/// template that does not render.
pub(in crate::engine) fn key_parts(
    run: &CacheRun,
    step: &StepSpec,
    context: &Value,
    renderer: &Renderer,
) -> Option<KeyParts> {
    let mut parts = KeyParts::default();
    match &step.kind {
        UnitKind::Turn => turn_parts(run, step, context, renderer, &mut parts)?,
        UnitKind::Script(script) => {
            let env = render_env(&step.env, step.scope, None, context, renderer).ok()?;
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
    Some(parts)
}

/// A turn's parts: what it sends, and the codex it runs on.
fn turn_parts(
    run: &CacheRun,
    step: &StepSpec,
    context: &Value,
    renderer: &Renderer,
    parts: &mut KeyParts,
) -> Option<()> {
    let prompt = renderer.render_in(step.scope, &step.prompt, context).ok()?;
    let (model, effort) = render_policies(step, renderer, context).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cache::{Files, Store};
    use crate::engine::spec::ScriptSpec;
    use crate::vocab::{Approval, Effort, Environment, OutputFormat, Sandbox};

    fn run() -> CacheRun {
        CacheRun {
            store: Store::new("/nowhere"),
            files: Files::default(),
            codex: json!({"version": "0.169.0"}),
            workflow: "w".into(),
            all: true,
            print: Default::default(),
            secrets: Default::default(),
        }
    }

    fn key(run: &CacheRun, step: &StepSpec) -> String {
        let context = json!({"inputs": {"who": "you"}});
        key_parts(run, step, &context, &Renderer::new())
            .expect("keyed")
            .key()
    }

    #[test]
    fn every_part_of_a_turn_changes_its_key() {
        let base = StepSpec::new("s", "hello {{ inputs.who }}");
        type Change = Box<dyn Fn(&mut StepSpec)>;
        let changes: Vec<(&str, Change)> = vec![
            (
                "prompt",
                Box::new(|s| s.prompt = "bye {{ inputs.who }}".into()),
            ),
            (
                "schema",
                Box::new(|s| s.output_schema = Some(json!({"type": "object"}))),
            ),
            ("model", Box::new(|s| s.model = Some("m2".into()))),
            ("effort", Box::new(|s| s.effort = Some(Effort::High))),
            ("approval", Box::new(|s| s.approval = Approval::OnRequest)),
            ("sandbox", Box::new(|s| s.sandbox = Sandbox::WorkspaceWrite)),
            (
                "rules",
                Box::new(|s| s.approve_commands = vec!["ls".into()]),
            ),
            (
                "files rules",
                Box::new(|s| s.approve_files = vec!["src/**".into()]),
            ),
            (
                "instructions",
                Box::new(|s| s.developer_instructions = Some("x".into())),
            ),
            (
                "config",
                Box::new(|s| s.config = Some(serde_json::Map::new())),
            ),
            ("network", Box::new(|s| s.network = true)),
            (
                "environment",
                Box::new(|s| s.environment = Some(Environment::Plain)),
            ),
            ("isolation", Box::new(|s| s.isolation = Isolation::Worktree)),
            ("writes", Box::new(|s| s.writes = Some(vec!["a".into()]))),
        ];
        let first = key(&run(), &base);
        let mut seen = vec![first.clone()];
        for (what, change) in changes {
            let mut step = base.clone();
            change(&mut step);
            let changed = key(&run(), &step);
            assert!(!seen.contains(&changed), "`{what}` does not change the key");
            seen.push(changed);
        }
        let mut newer = run();
        newer.codex = json!({"version": "0.171.0"});
        assert_ne!(
            key(&newer, &base),
            first,
            "the codex version is part of the key"
        );
    }

    #[test]
    fn what_does_not_decide_the_result_leaves_the_key_alone() {
        let base = StepSpec::new("s", "hello {{ inputs.who }}");
        let mut other = base.clone();
        other.id = "renamed".into();
        other.timeout = Some(std::time::Duration::from_secs(5));
        other.retries = 3;
        other.cwd = "/elsewhere".into();
        other.cache = false;
        assert_eq!(key(&run(), &other), key(&run(), &base));
    }

    #[test]
    fn a_scripts_text_env_and_shell_change_its_key_and_a_gate_has_none() {
        let mut script = StepSpec::script("s", "echo hi");
        let first = key(&run(), &script);
        script.env = vec![("WHO".into(), "{{ inputs.who }}".into())];
        let with_env = key(&run(), &script);
        assert_ne!(with_env, first);
        script.kind = UnitKind::Script(ScriptSpec {
            run: "echo hi".into(),
            output: OutputFormat::Json,
        });
        assert_ne!(key(&run(), &script), with_env);
        let mut gate = StepSpec::new("g", "");
        gate.kind = UnitKind::Gate(crate::engine::spec::GateSpec {
            question: "ok?".into(),
        });
        assert!(key_parts(&run(), &gate, &json!({}), &Renderer::new()).is_none());
    }
}
