//! The client: start (or connect to) an app-server, do the handshake, call thread methods,
//! and end the app-server and everything it started when the last handle goes away.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

use super::error::{CloseReason, Error, Result};
use super::items::ThreadInfo;
use super::options::{ThreadListOptions, ThreadOptions};
use super::requests::{DeclineAll, ServerRequestHandler};
use super::rpc::Connection;
use super::thread::Thread;
use super::transport::{Launch, ProcessGuard};

/// How long [`Client::close`] waits for the app-server to exit after its stdin closes.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How to start the app-server and how the client behaves.
#[derive(Clone)]
pub struct ClientConfig {
    /// The codex binary; else `$CODEX_BIN`; else `codex` on `PATH`.
    pub codex_bin: Option<PathBuf>,
    /// `CODEX_HOME` for the app-server (its config, sessions and state).
    pub codex_home: Option<PathBuf>,
    /// Extra environment for the app-server.
    pub env: Vec<(String, String)>,
    /// `-c key=value` overrides; values are TOML (`"\"quoted\""` for strings).
    pub config_overrides: Vec<(String, String)>,
    /// The app-server's working directory (default: this process's).
    pub cwd: Option<PathBuf>,
    /// `clientInfo.name`; also the `originator` the model provider sees.
    pub client_name: String,
    /// `clientInfo.title`.
    pub client_title: Option<String>,
    /// `clientInfo.version`.
    pub client_version: String,
    /// Opt in to experimental protocol fields and methods.
    pub experimental_api: bool,
    /// Notification methods the server should not send on this connection.
    pub opt_out_notifications: Vec<String>,
    /// Answers the server's requests (approvals, user input). Default: [`DeclineAll`].
    pub request_handler: Arc<dyn ServerRequestHandler>,
    /// Fail a turn with [`Error::Watchdog`] after this long without an event from it.
    pub turn_idle_timeout: Option<Duration>,
    /// Fail a request with [`Error::RequestTimeout`] after this long without a reply.
    pub request_timeout: Option<Duration>,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            codex_bin: None,
            codex_home: None,
            env: Vec::new(),
            config_overrides: Vec::new(),
            cwd: None,
            client_name: "weft".into(),
            client_title: None,
            client_version: env!("CARGO_PKG_VERSION").into(),
            experimental_api: false,
            opt_out_notifications: Vec::new(),
            request_handler: Arc::new(DeclineAll),
            turn_idle_timeout: None,
            request_timeout: Some(Duration::from_secs(120)),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("codex_bin", &self.codex_bin)
            .field("codex_home", &self.codex_home)
            .field("client_name", &self.client_name)
            .field("turn_idle_timeout", &self.turn_idle_timeout)
            .finish_non_exhaustive()
    }
}

/// A connection to one app-server. Cheap to clone; every clone, [`Thread`] and turn
/// shares it. When the last one is dropped the app-server's process group is killed.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    process: Option<ProcessGuard>,
    user_agent: String,
    server_version: String,
    codex_home: Option<PathBuf>,
    turn_idle_timeout: Option<Duration>,
    turn_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server_version", &self.inner.server_version)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Start `codex app-server` and do the `initialize` handshake.
    pub async fn spawn(config: ClientConfig) -> Result<Client> {
        let launch = Launch {
            bin: config.codex_bin.clone(),
            codex_home: config.codex_home.clone(),
            env: config.env.clone(),
            config_overrides: config.config_overrides.clone(),
            cwd: config.cwd.clone(),
        };
        let spawned = launch.spawn()?;
        let process = spawned.guard.0.clone();
        let connection = Connection::start(
            spawned.stdout,
            spawned.stdin,
            config.request_handler.clone(),
            config.request_timeout,
            Box::pin(async move { process.close_reason().await }),
        );
        Client::handshake(connection, Some(spawned.guard), &config).await
    }

    /// Speak the protocol over any pipe pair (a socket, `tokio::io::duplex` in tests) and
    /// do the handshake. The process fields of `config` are ignored.
    pub async fn connect<R, W>(reader: R, writer: W, config: ClientConfig) -> Result<Client>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let connection = Connection::start(
            reader,
            writer,
            config.request_handler.clone(),
            config.request_timeout,
            Box::pin(async {
                CloseReason::Exited {
                    status: "pipe closed".into(),
                    stderr_tail: String::new(),
                }
            }),
        );
        Client::handshake(connection, None, &config).await
    }

    async fn handshake(
        connection: Connection,
        process: Option<ProcessGuard>,
        config: &ClientConfig,
    ) -> Result<Client> {
        let params = json!({
            "clientInfo": {
                "name": config.client_name,
                "title": config.client_title,
                "version": config.client_version,
            },
            "capabilities": {
                "experimentalApi": config.experimental_api,
                "optOutNotificationMethods": config.opt_out_notifications,
            },
        });
        let reply = connection.request("initialize", params).await?;
        connection.notify("initialized", None)?;
        let user_agent = reply["userAgent"].as_str().unwrap_or_default().to_owned();
        let inner = Inner {
            server_version: version_of(&user_agent),
            user_agent,
            codex_home: reply["codexHome"].as_str().map(PathBuf::from),
            connection,
            process,
            turn_idle_timeout: config.turn_idle_timeout,
            turn_slots: Mutex::default(),
        };
        Ok(Client {
            inner: Arc::new(inner),
        })
    }

    /// The server's version, from its `userAgent` (`name/0.169.0 (...)` → `0.169.0`).
    pub fn server_version(&self) -> &str {
        &self.inner.server_version
    }

    /// The server's full `userAgent`.
    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    /// The `CODEX_HOME` the server uses.
    pub fn codex_home(&self) -> Option<&std::path::Path> {
        self.inner.codex_home.as_deref()
    }

    /// The app-server's pid (and process group id), when this client started it.
    pub fn pid(&self) -> Option<u32> {
        self.inner.process.as_ref().map(|guard| guard.0.pid())
    }

    /// Call any method with raw params (always an object; `{}` when empty).
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        self.inner.connection.request(method, params).await
    }

    /// Start a new thread (`thread/start`).
    pub async fn thread_start(&self, options: ThreadOptions) -> Result<Thread> {
        let mut params = options.to_params();
        if let Some(ephemeral) = options.ephemeral {
            params.insert("ephemeral".into(), ephemeral.into());
        }
        let reply = self.request("thread/start", Value::Object(params)).await?;
        Thread::from_reply(self.clone(), reply)
    }

    /// Load a stored thread by id (`thread/resume`), also from an earlier app-server.
    pub async fn thread_resume(&self, thread_id: &str, options: ThreadOptions) -> Result<Thread> {
        let mut params = options.to_params();
        params.insert("threadId".into(), thread_id.into());
        let reply = self.request("thread/resume", Value::Object(params)).await?;
        Thread::from_reply(self.clone(), reply)
    }

    /// Start a new thread with a copy of another's history (`thread/fork`).
    pub async fn thread_fork(&self, thread_id: &str, options: ThreadOptions) -> Result<Thread> {
        let mut params = options.to_params();
        params.insert("threadId".into(), thread_id.into());
        if options.ephemeral == Some(true) {
            params.insert("ephemeral".into(), true.into());
            params.insert("excludeTurns".into(), true.into());
        }
        let reply = self.request("thread/fork", Value::Object(params)).await?;
        Thread::from_reply(self.clone(), reply)
    }

    /// List stored threads (`thread/list`); one page.
    pub async fn thread_list(&self, options: ThreadListOptions) -> Result<ThreadList> {
        let reply = self.request("thread/list", options.to_params()).await?;
        let data = reply["data"].as_array().cloned().unwrap_or_default();
        Ok(ThreadList {
            data: data.into_iter().map(ThreadInfo::from_value).collect(),
            next_cursor: reply["nextCursor"].as_str().map(str::to_owned),
        })
    }

    /// Read a stored thread (`thread/read`), with its turns if asked.
    pub async fn thread_read(&self, thread_id: &str, include_turns: bool) -> Result<ThreadInfo> {
        let params = json!({ "threadId": thread_id, "includeTurns": include_turns });
        let reply = self.request("thread/read", params).await?;
        Ok(ThreadInfo::from_value(reply["thread"].clone()))
    }

    /// Archive a thread (`thread/archive`).
    pub async fn thread_archive(&self, thread_id: &str) -> Result<()> {
        let params = json!({ "threadId": thread_id });
        self.request("thread/archive", params).await.map(drop)
    }

    /// Restore an archived thread (`thread/unarchive`).
    pub async fn thread_unarchive(&self, thread_id: &str) -> Result<Thread> {
        let params = json!({ "threadId": thread_id });
        let reply = self.request("thread/unarchive", params).await?;
        Thread::from_reply(self.clone(), reply)
    }

    /// Stop the app-server: fail what is still waiting with [`Error::Closed`], close its
    /// stdin, give it a moment to exit, then kill its process group.
    pub async fn close(&self) -> Result<()> {
        self.inner.connection.shutdown(CloseReason::Closed);
        if let Some(guard) = &self.inner.process {
            guard.0.wait_exit(CLOSE_GRACE).await;
            guard.0.kill_group();
        }
        Ok(())
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.inner.connection
    }

    pub(crate) fn turn_idle_timeout(&self) -> Option<Duration> {
        self.inner.turn_idle_timeout
    }

    /// Drops the turn slot of a thread the client lets go of.
    pub(crate) fn forget_turn_slot(&self, thread_id: &str) {
        let mut slots = self
            .inner
            .turn_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        slots.remove(thread_id);
    }

    /// The semaphore that lets one turn at a time run on a thread.
    pub(crate) fn turn_slot(&self, thread_id: &str) -> Arc<Semaphore> {
        let mut slots = self
            .inner
            .turn_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        slots
            .entry(thread_id.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.connection.shutdown(CloseReason::Closed);
    }
}

/// One page of [`Client::thread_list`].
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadList {
    /// The threads.
    pub data: Vec<ThreadInfo>,
    /// Pass as [`ThreadListOptions::cursor`] for the next page.
    pub next_cursor: Option<String>,
}

fn version_of(user_agent: &str) -> String {
    user_agent
        .split_once('/')
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or_default())
        .unwrap_or_default()
        .to_owned()
}

impl From<tokio::sync::AcquireError> for Error {
    fn from(_: tokio::sync::AcquireError) -> Error {
        Error::Closed
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_comes_from_the_user_agent() {
        let agent = "probe/0.169.0 (Debian 12.0.0; x86_64) xterm (probe; 1)";
        assert_eq!(super::version_of(agent), "0.169.0");
        assert_eq!(super::version_of("garbage"), "");
    }
}
