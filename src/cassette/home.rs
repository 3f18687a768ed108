//! An isolated `CODEX_HOME` whose only model provider is a local Responses API server:
//! the replay server of `weft run --replay`, or the mock model of the tests.

use std::path::Path;

/// The settings of an isolated `CODEX_HOME`'s `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolatedHome {
    /// The default `model` (a step's `model` overrides it).
    pub model: String,
    /// `approval_policy` (config.toml accepts `never` and `on-request`; `untrusted` there
    /// aborts startup, so pass it per thread instead).
    pub approval_policy: String,
    /// `sandbox_mode`: `read-only`, `workspace-write` or `danger-full-access`.
    pub sandbox_mode: String,
    /// The provider's `stream_idle_timeout_ms`.
    pub stream_idle_timeout_ms: u64,
    /// TOML appended at the end; start it with a `[table]` header.
    pub extra_toml: String,
}

impl Default for IsolatedHome {
    fn default() -> IsolatedHome {
        IsolatedHome {
            model: "mock-model".into(),
            approval_policy: "never".into(),
            sandbox_mode: "danger-full-access".into(),
            stream_idle_timeout_ms: 20_000,
            extra_toml: String::new(),
        }
    }
}

impl IsolatedHome {
    /// The `config.toml` text for a provider at `model_url` (`http://127.0.0.1:PORT/v1`).
    ///
    /// Model [`IsolatedHome::model`] (default `mock-model`) from provider `mock` without
    /// auth; no retries (a 5xx fails the turn at once); no update check, analytics or shell
    /// snapshots (each new thread would otherwise run a login shell).
    pub fn config_toml(&self, model_url: &str) -> String {
        format!(
            r#"model = "{model}"
model_provider = "mock"
approval_policy = "{approval}"
sandbox_mode = "{sandbox}"
check_for_update_on_startup = false

[model_providers.mock]
name = "mock"
base_url = "{model_url}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = {idle}

[analytics]
enabled = false

[features]
shell_snapshot = false
{extra}"#,
            model = self.model,
            approval = self.approval_policy,
            sandbox = self.sandbox_mode,
            idle = self.stream_idle_timeout_ms,
            extra = self.extra_toml,
        )
    }

    /// Create `codex_home` (if needed) and write its `config.toml`. Run the app-server
    /// with `TMPDIR` outside `codex_home`.
    pub fn write(&self, codex_home: &Path, model_url: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(codex_home)?;
        std::fs::write(codex_home.join("config.toml"), self.config_toml(model_url))
    }
}
