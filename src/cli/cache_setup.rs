//! The result cache of a session: where it is, what is weft's own (left out of every
//! fingerprint: the record and report files, `.weft/`, the cache, the workflow files and
//! the prompt, include and called workflow files they load) and what part of the key
//! the codex the turns run on gives (its version, its configuration file, `-c`
//! overrides). After the run the cache is pruned to its size bound.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::cache_args::CacheArgs;
use crate::engine::CacheRun;
use crate::engine::cache::{Files, Prune, Store, hash_value};
use crate::engine::spec::RunSpec;
use crate::git::Repo;

/// The cache `spec` runs with, or `None` (`--no-cache`, or no step asks for one and no
/// `--cache`). `own`: the paths the run's trees already count as weft's; the repository
/// is theirs too (found again when they have none).
pub(super) fn cache_run(
    args: &CacheArgs,
    spec: &RunSpec,
    (workflow, workdir): (&Path, &Path),
    own: &[PathBuf],
    overrides: &[(String, String)],
) -> Option<CacheRun> {
    if args.no_cache || !(args.cache || spec.steps.iter().any(|s| s.cache)) {
        return None;
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or(p.to_path_buf());
    let mut own: Vec<PathBuf> = own.to_vec();
    own.extend([
        absolute(&workdir.join(".weft")),
        absolute(&args.cache_dir),
        absolute(workflow),
    ]);
    own.extend(loaded_files(spec).iter().map(|p| absolute(p)));
    Some(CacheRun {
        store: Store::new(absolute(&args.cache_dir)),
        files: Files {
            repo: match spec.tree.as_ref() {
                Some(tree) => tree.repo.clone(),
                None => Repo::discover(workdir).ok().flatten(),
            },
            own,
        },
        codex: codex_part(overrides, ""),
        workflow: spec.workflow_name.clone(),
        all: args.cache,
        print: Default::default(),
        secrets: Default::default(),
    })
}

/// The files the workflow loaded: prompt and include files, called workflows.
fn loaded_files(spec: &RunSpec) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = spec
        .scopes
        .iter()
        .flat_map(|s| s.templates.files.keys().map(|n| s.templates.root.join(n)))
        .collect();
    for step in &spec.steps {
        if let (Some(call), Some(scope)) = (&step.call, spec.scopes.get(step.scope)) {
            files.push(scope.templates.root.join(&call.uses));
        }
    }
    files
}

/// The `codex` part of a turn's key: the codex version (`version`; filled in once the
/// app-server says it), its configuration file and the `-c` overrides.
pub(super) fn codex_part(overrides: &[(String, String)], version: &str) -> Value {
    let home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")));
    let config = home
        .and_then(|h| std::fs::read_to_string(h.join("config.toml")).ok())
        .map(|text| hash_value(&Value::String(settings(&text))));
    json!({ "version": version, "config": config, "overrides": overrides })
}

/// The lines of a codex `config.toml` that set how codex behaves: codex's own notes
/// (`[projects."DIR"]` trust, which it writes when it first works in a directory, and
/// `[notice]`) are left out, so that running does not change the key.
fn settings(config: &str) -> String {
    let mut keep = true;
    let mut out = String::new();
    for line in config.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            keep = !(trimmed.starts_with("[projects") || trimmed.starts_with("[notice"));
        }
        if keep && !trimmed.is_empty() && !trimmed.starts_with('#') {
            out.push_str(trimmed);
            out.push('\n');
        }
    }
    out
}

/// The version `codex --version` of `bin` (`codex` on `PATH` when `None`) says, as the
/// app-server gives it (`0.169.0`); empty when it cannot be run.
pub(super) fn codex_version(bin: Option<&Path>) -> String {
    let bin = bin.unwrap_or(Path::new("codex"));
    std::process::Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.split_whitespace().last().map(str::to_owned)
        })
        .unwrap_or_default()
}

/// Sets the codex version in the key of `spec`'s turns.
pub(super) fn set_codex_version(spec: &mut RunSpec, version: &str) {
    if let Some(Value::Object(codex)) = spec.cache.as_mut().map(|c| &mut c.codex) {
        codex.insert("version".into(), Value::from(version));
    }
}

/// Takes the working tree's id on a thread of its own while the app-server starts, so
/// that the first cached unit finds it ready.
pub(super) fn prime(cache: &CacheRun) {
    let (files, print) = (cache.files.clone(), cache.print.clone());
    if files.repo.is_some() {
        std::thread::spawn(move || {
            print.prime(|| files.tree().unwrap_or_else(|| Err(String::new())));
        });
    }
}

/// Removes the least recently used results until the cache fits `--cache-max-size`.
pub(super) fn prune_after(args: &CacheArgs, store: &Store) {
    let pruned = Prune {
        max_size: Some(args.cache_max_size),
        ..Prune::default()
    }
    .run(store);
    if pruned.removed > 0 {
        tracing::debug!(removed = pruned.removed, "pruned the result cache");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codex_notes_and_layout_do_not_count_in_its_settings() {
        let base = "model = \"m\"\n\n[features]\nx = true\n";
        let noted = format!("{base}\n# a comment\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n");
        assert_eq!(super::settings(base), super::settings(&noted));
        assert_ne!(
            super::settings(base),
            super::settings("model = \"other\"\n")
        );
    }
}
