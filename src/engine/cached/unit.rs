//! [`Cached`]: a unit of any cacheable kind wrapped by the result cache. When it starts,
//! the files its step reads are fingerprinted and its key completed; a stored result of
//! that key is served without running the unit (its output, a script's exit code and
//! stderr, and its file changes reproduced — or it runs, when they cannot be); else the
//! unit runs and, when it succeeds, what it gave is stored. A served result costs no
//! tokens: the tokens its stored result took are reported as saved.

use std::sync::Arc;
use std::time::Instant;

use super::draft::{Draft, Effect};
use super::replay::reproduce;
use super::setup::CacheRun;
use crate::engine::cache::{ENTRY_VERSION, Entry, KeyParts, StoredPatch};
use crate::engine::event::Status;
use crate::engine::tree::{TreeSetup, blocking};
use crate::engine::unit::{Unit, UnitFuture, UnitKey, UnitLink, UnitResult};
use crate::vocab::now_ms;

/// A unit wrapped by the cache.
pub(in crate::engine) struct Cached {
    pub inner: Box<dyn Unit>,
    pub key: UnitKey,
    pub run: Arc<CacheRun>,
    /// The run's trees (where patches are kept).
    pub setup: Option<Arc<TreeSetup>>,
    pub draft: Draft,
}

impl Unit for Cached {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

impl Cached {
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let started = Instant::now();
        let Cached {
            inner,
            key,
            run,
            setup,
            draft,
        } = self;
        let (cwd, reads, shared) = (draft.cwd.clone(), draft.reads.clone(), run.clone());
        let print = blocking(move || {
            let files = &shared.files;
            let tree = match files.repo {
                Some(_) => Some(shared.print.get_or_take(|| {
                    files
                        .tree()
                        .unwrap_or_else(|| Err("not in a repository".into()))
                })?),
                None => None,
            };
            files.fingerprint_in(tree, &cwd, reads.as_deref())
        })
        .await;
        let mut parts = draft.parts.clone();
        match print {
            Ok(print) => parts.add("files", &print),
            Err(why) => {
                tracing::debug!(step = %draft.step, %why, "not cached");
                return inner.run(link).await;
            }
        }
        let hit = {
            let (run, setup, draft, parts) =
                (run.clone(), setup.clone(), draft.clone(), parts.clone());
            blocking(move || Ok::<_, String>(serve(&run, setup.as_deref(), &draft, &parts, key)))
                .await
                .ok()
                .flatten()
        };
        if let Some(mut hit) = hit {
            hit.duration = started.elapsed();
            return hit;
        }
        let result = inner.run(link).await;
        if result.status == Status::Succeeded && !result.fatal {
            // Stored off the run's path: the step's dependents need not wait for the
            // write (the runtime waits for it when the run ends).
            let stored = result.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(why) = save(&run, setup.as_deref(), &draft, &parts, &stored) {
                    tracing::warn!(%why, "could not store a result in the cache");
                }
            });
        }
        result
    }
}

/// The stored result of `parts`' key, its changes reproduced; `None`: a miss.
fn serve(
    run: &CacheRun,
    setup: Option<&TreeSetup>,
    draft: &Draft,
    parts: &KeyParts,
    key: UnitKey,
) -> Option<UnitResult> {
    let entry = run.store.get(&parts.key())?;
    let patch = match (&entry.patch, draft.effect) {
        (None, _) => None,
        (Some(_), Effect::None) => return None,
        (Some(stored), effect) => {
            let text = run.store.patch(&entry.key)?;
            match reproduce(setup?, effect, &draft.name, stored, &text) {
                Ok(patch) => Some(Box::new(patch)),
                Err(why) => {
                    tracing::debug!(step = %draft.step, %why, "the stored result is not served");
                    return None;
                }
            }
        }
    };
    let mut result = UnitResult::new(key);
    result.status = Status::Succeeded;
    result.output = entry.output;
    result.exit_code = entry.exit_code;
    result.stderr = entry.stderr;
    result.patch = patch;
    result.cached = Some(entry.usage);
    Some(result)
}

/// Stores `result` (with its patch's text) under `parts`' key.
fn save(
    run: &CacheRun,
    setup: Option<&TreeSetup>,
    draft: &Draft,
    parts: &KeyParts,
    result: &UnitResult,
) -> Result<(), String> {
    let (patch, text) = match &result.patch {
        None => (None, None),
        Some(patch) => {
            let Some(setup) = setup else {
                return Err("the patch's record is unknown".into());
            };
            let path = setup.record.join(&patch.file);
            let text = std::fs::read(&path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let stored = StoredPatch {
                files: patch.files.clone(),
                insertions: patch.insertions,
                deletions: patch.deletions,
            };
            (Some(stored), Some(text))
        }
    };
    let (output, stderr) = (result.output.to_string(), result.stderr.as_deref());
    let raw = result.output.as_str();
    let holds_secret = [Some(output.as_bytes()), raw.map(str::as_bytes)]
        .into_iter()
        .chain([stderr.map(str::as_bytes), text.as_deref()])
        .flatten()
        .any(|bytes| run.secrets.finds_in(bytes));
    if holds_secret {
        return Err("it holds a secret value: results with secrets are never stored".into());
    }
    let entry = Entry {
        version: ENTRY_VERSION,
        key: parts.key(),
        workflow: run.workflow.clone(),
        step: draft.step.clone(),
        parts: parts.parts().clone(),
        output: result.output.clone(),
        usage: result.usage,
        exit_code: result.exit_code,
        stderr: result.stderr.clone(),
        patch,
        created_ms: now_ms(),
    };
    run.store
        .put(&entry, text.as_deref())
        .map_err(|e| format!("cannot write to `{}`: {e}", run.store.dir().display()))
}
