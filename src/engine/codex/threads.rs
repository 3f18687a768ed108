//! How the agent opens and lets go of threads: the config a thread opens with, threads
//! opened again (one left archived by a release that was cut short is unarchived before it
//! is forked or resumed), and released threads, forgotten here and unloaded by the
//! app-server.

use serde_json::{Map, Value};

use super::CodexAgent;
use crate::client::{self, Thread};
use crate::vocab::Environment;

/// How many released threads `weft run` lets stay loaded: enough that a short run pays
/// nothing for releasing, few enough that the app-server's memory still follows `--jobs`.
pub const IDLE_THREADS: usize = 16;

/// A thread's `config`: the step's Codex config overrides, and the shell `environment`'s
/// `features.shell_snapshot`: inside a `features` table the overrides give, else as a
/// dotted key (`environment` wins over the same key in the overrides).
pub(super) fn thread_config(
    config: Option<Map<String, Value>>,
    environment: Option<Environment>,
) -> Map<String, Value> {
    let mut config = config.unwrap_or_default();
    let Some((key, on)) = environment.map(Environment::config) else {
        return config;
    };
    match config.get_mut("features") {
        Some(Value::Object(features)) => {
            let name = key.trim_start_matches("features.");
            features.insert(name.into(), Value::Bool(on));
        }
        _ => {
            config.insert(key.into(), Value::Bool(on));
        }
    }
    config
}

impl CodexAgent {
    /// Forks or resumes thread `id`, one of the run's own. One left archived by a release
    /// that was cut short (weft killed between `thread/archive` and `thread/unarchive`) is
    /// unarchived first; someone else's archived thread (`resume:`) is never touched.
    pub(super) async fn reopened(
        &self,
        id: &str,
        opts: client::ThreadOptions,
        fork: bool,
    ) -> Result<Thread, client::Error> {
        if !fork {
            self.reclaim(id);
        }
        let open = |opts| async move {
            if fork {
                self.client.thread_fork(id, opts).await
            } else {
                self.client.thread_resume(id, opts).await
            }
        };
        match open(opts.clone()).await {
            Err(client::Error::InvalidRequest { message }) if message.contains("is archived") => {
                self.client.thread_unarchive(id).await?;
                open(opts).await
            }
            other => other,
        }
    }

    /// Forgets thread `id`, which nothing uses again, and has the app-server unload it
    /// ([`client::Client::thread_release`]); the most recent `idle_threads` released stay
    /// loaded until more come, since unloading costs the app-server work that a short run
    /// need not pay.
    pub(super) async fn release(&self, id: &str) -> Result<(), client::Error> {
        let thread = {
            let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
            threads.remove(id)
        };
        drop(thread);
        let oldest = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push_back(id.to_string());
            (idle.len() > self.idle_limit)
                .then(|| idle.pop_front())
                .flatten()
        };
        match oldest {
            Some(oldest) => self.client.thread_release(&oldest).await,
            None => Ok(()),
        }
    }

    /// Takes thread `id` back from the released ones (it is opened again).
    fn reclaim(&self, id: &str) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|t| t != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_sets_the_shell_snapshot_feature_and_unset_sets_nothing() {
        let config = |e| Value::Object(thread_config(None, e));
        assert_eq!(
            config(Some(Environment::Snapshot)),
            serde_json::json!({"features.shell_snapshot": true})
        );
        assert_eq!(
            config(Some(Environment::Plain)),
            serde_json::json!({"features.shell_snapshot": false})
        );
        assert_eq!(config(None), serde_json::json!({}));
    }

    #[test]
    fn environment_joins_a_features_table_of_the_steps_config() {
        let given = serde_json::json!({"features": {"web_search_request": true}, "x": 1});
        let Value::Object(given) = given else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(thread_config(Some(given.clone()), Some(Environment::Plain))),
            serde_json::json!({"features": {"web_search_request": true, "shell_snapshot": false}, "x": 1})
        );
        assert_eq!(
            Value::Object(thread_config(Some(given.clone()), None)),
            Value::Object(given)
        );
    }
}
