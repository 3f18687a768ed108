//! `weft plan --cache`: for each step, whether the result cache would serve it, would run
//! it (and why), or cannot tell before the run; as text lines or in the JSON plan.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::cache_args::{CacheArgs, PlanCacheArgs};
use super::cache_setup;
use crate::engine::{self, RunOptions, Verdict};
use crate::workflow::Workflow;

/// The verdicts on `workflow`'s steps run with `inputs` (none when no step is cached).
pub(super) fn verdicts(
    args: &PlanCacheArgs,
    workflow: &Workflow,
    plan: &crate::plan::Plan,
    inputs: Map<String, Value>,
) -> Vec<(String, Verdict)> {
    let workdir = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let options = RunOptions {
        run_dir: None,
        run_id: "plan".into(),
        jobs: 1,
        fail_fast: false,
        timeout: None,
        model: None,
        effort: None,
        workdir: workdir.clone(),
        retry_delay: std::time::Duration::ZERO,
    };
    let mut spec = engine::run_spec(workflow, plan, inputs, &options);
    let cache = CacheArgs {
        cache: false,
        no_cache: false,
        cache_dir: args.cache_dir.clone(),
        cache_max_size: 0,
    };
    let paths = (workflow.path.as_path(), workdir.as_path());
    spec.cache = cache_setup::cache_run(&cache, &spec, paths, &[], &args.config);
    let version = cache_setup::codex_version(args.codex_bin.as_deref());
    cache_setup::set_codex_version(&mut spec, &version);
    engine::preview(&spec)
}

/// The text lines: `  step  cached` / `runs: why` / `unknown: why`.
pub(super) fn text(verdicts: &[(String, Verdict)], dir: &Path) -> String {
    if verdicts.is_empty() {
        return "\ncache: no step has `cache: true`\n".into();
    }
    let width = verdicts.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
    let mut out = format!("\ncache (`{}`):\n", dir.display());
    for (id, verdict) in verdicts {
        out.push_str(&format!("  {id:width$}  {}\n", describe(verdict)));
    }
    out
}

/// The verdicts as JSON: step id → `{"verdict": "cached" | "runs" | "unknown", "why"}`.
pub(super) fn json(verdicts: &[(String, Verdict)]) -> Value {
    let map: Map<String, Value> = verdicts
        .iter()
        .map(|(id, v)| {
            let (verdict, why) = match v {
                Verdict::Cached { patch: false } => ("cached", None),
                Verdict::Cached { patch: true } => ("cached", Some("if its patch still applies")),
                Verdict::Runs(why) => ("runs", Some(why.as_str())),
                Verdict::Unknown(why) => ("unknown", Some(why.as_str())),
            };
            (id.clone(), json!({ "verdict": verdict, "why": why }))
        })
        .collect();
    Value::Object(map)
}

fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Cached { patch: false } => "cached".into(),
        Verdict::Cached { patch: true } => "cached, if its patch still applies".into(),
        Verdict::Runs(why) => format!("runs: {why}"),
        Verdict::Unknown(why) => format!("unknown: {why}"),
    }
}
