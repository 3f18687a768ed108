//! The real agent: the engine's [`Agent`] over one `codex app-server` process, with the
//! approval requests of every turn answered from that turn's step rules.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::active_turns::ActiveTurns;
use super::agent::{
    Agent, AgentError, AgentEvent, StopReason, ThreadOpen, ThreadOptions, TurnEnd, TurnOutcome,
    TurnSpec, Usage,
};
use super::approvals::ApprovalRules;
use crate::client::{
    self, BoxFuture, Client, ClientConfig, ItemDetails, ServerRequest, ServerRequestHandler,
    ServerRequestKind, ServerResponse, Thread, ThreadItem, TokenUsage, TurnEvent, TurnOptions,
    TurnStatus,
};

mod threads;

pub use threads::IDLE_THREADS;

/// How long an interrupted turn may take to confirm that it stopped.
const INTERRUPT_GRACE: Duration = Duration::from_secs(15);

/// How to start the app-server.
#[derive(Debug, Clone, Default)]
pub struct CodexConfig {
    pub codex_bin: Option<PathBuf>,
    pub codex_home: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub config_overrides: Vec<(String, String)>,
    /// A turn with no event for this long fails (the app-server's turn never completed).
    pub idle_timeout: Option<Duration>,
    /// Filled with the label of every running turn, by thread id.
    pub active_turns: ActiveTurns,
    /// How many released threads stay loaded (the most recent ones) before the oldest is
    /// unloaded; 0 unloads each at once. See [`CodexAgent::release`].
    pub idle_threads: usize,
}

/// The engine's agent: one app-server, many threads.
pub struct CodexAgent {
    client: Client,
    threads: Mutex<HashMap<String, Thread>>,
    /// Released threads still loaded, oldest first, and how many may be.
    idle: Mutex<std::collections::VecDeque<String>>,
    idle_limit: usize,
    approvals: Arc<Approvals>,
    active_turns: ActiveTurns,
}

/// The approval rules of the turns running now, by thread id.
#[derive(Default)]
struct Approvals {
    turns: Mutex<HashMap<String, Registration>>,
}

#[derive(Clone)]
struct Registration {
    rules: Arc<ApprovalRules>,
    cwd: PathBuf,
    events: mpsc::UnboundedSender<AgentEvent>,
}

impl CodexAgent {
    /// Starts the app-server and performs the handshake.
    pub async fn start(config: CodexConfig) -> Result<Self, client::Error> {
        let approvals = Arc::new(Approvals::default());
        let client = Client::spawn(ClientConfig {
            codex_bin: config.codex_bin,
            codex_home: config.codex_home,
            env: config.env,
            config_overrides: config.config_overrides,
            request_handler: approvals.clone(),
            turn_idle_timeout: config.idle_timeout,
            ..ClientConfig::default()
        })
        .await?;
        Ok(Self {
            client,
            threads: Mutex::new(HashMap::new()),
            idle: Mutex::default(),
            idle_limit: config.idle_threads,
            approvals,
            active_turns: config.active_turns,
        })
    }

    /// The client, for what the engine does not need (listing threads, versions).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Fails when the agent would need OpenAI credentials and has none, so that a run
    /// stops at once with what to do instead of waiting on a model it cannot reach.
    pub async fn check_credentials(&self) -> Result<(), String> {
        client::diagnose::credentials(&self.client)
            .await
            .map(drop)
            .map_err(|problem| problem.to_string())
    }

    /// Stops the app-server and everything it started.
    pub async fn close(&self) {
        let _ = self.client.close().await;
    }

    fn thread(&self, id: &str) -> Result<Thread, AgentError> {
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        threads
            .get(id)
            .cloned()
            .ok_or_else(|| AgentError::Rejected(format!("thread `{id}` was not opened")))
    }
}

/// Sorts client errors into what the engine does with them.
fn classify(err: client::Error) -> AgentError {
    use client::Error as E;
    match err {
        E::Overloaded { .. } => AgentError::Retryable(err.to_string()),
        E::ProcessExited { .. } | E::Closed | E::Protocol { .. } | E::Io(_) | E::Spawn { .. } => {
            AgentError::Fatal(err.to_string())
        }
        other => AgentError::Rejected(other.to_string()),
    }
}

impl Agent for CodexAgent {
    async fn open_thread(
        &self,
        how: ThreadOpen,
        options: ThreadOptions,
    ) -> Result<String, AgentError> {
        let opts = client::ThreadOptions {
            model: options.model,
            effort: options.effort.map(Into::into),
            cwd: options.cwd,
            approval_policy: Some(options.approval.into()),
            sandbox: Some(options.sandbox.into()),
            developer_instructions: options.developer_instructions,
            config: threads::thread_config(options.config, options.environment),
            ..client::ThreadOptions::default()
        };
        let thread = match how {
            ThreadOpen::Start => self.client.thread_start(opts).await,
            ThreadOpen::Fork(id) => self.reopened(&id, opts, true).await,
            ThreadOpen::Resume(id) => self.client.thread_resume(&id, opts).await,
            ThreadOpen::Reopen(id) => self.reopened(&id, opts, false).await,
        }
        .map_err(classify)?;
        let id = thread.id().to_string();
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        threads.insert(id.clone(), thread);
        Ok(id)
    }

    async fn run_turn(
        &self,
        turn: TurnSpec,
        events: mpsc::UnboundedSender<AgentEvent>,
        stop: watch::Receiver<Option<StopReason>>,
    ) -> Result<TurnOutcome, AgentError> {
        let thread = self.thread(&turn.thread_id)?;
        let options = TurnOptions {
            output_schema: turn.output_schema.clone(),
            approval_policy: Some(turn.approval.into()),
            sandbox_policy: Some(super::policy::sandbox_policy(&turn)),
            model: turn.model.clone(),
            effort: turn.effort.map(Into::into),
            cwd: Some(turn.cwd.clone()),
        };
        self.approvals.register(
            &turn.thread_id,
            Registration {
                rules: turn.approvals.clone(),
                cwd: turn.cwd.clone(),
                events: events.clone(),
            },
        );
        self.active_turns.begin(&turn.thread_id, turn.label.clone());
        let outcome = drive(&thread, turn.input.clone(), options, &events, stop).await;
        self.active_turns.end(&turn.thread_id);
        self.approvals.unregister(&turn.thread_id);
        outcome
    }

    async fn release_thread(&self, thread_id: String) -> Result<(), AgentError> {
        self.release(&thread_id).await.map_err(classify)
    }
}

/// Runs one turn, forwarding its events, interrupting it when `stop` says so.
async fn drive(
    thread: &Thread,
    input: String,
    options: TurnOptions,
    events: &mpsc::UnboundedSender<AgentEvent>,
    mut stop: watch::Receiver<Option<StopReason>>,
) -> Result<TurnOutcome, AgentError> {
    let mut handle = thread.turn(input, options).await.map_err(classify)?;
    let controller = handle.controller();
    let turn_id = handle.turn_id().to_string();
    let mut usage = UsageTracker::default();
    let mut interrupted_at: Option<tokio::time::Instant> = None;
    let far = tokio::time::Instant::now() + Duration::from_secs(86400 * 365);
    loop {
        let grace_end = interrupted_at.map_or(far, |t| t + INTERRUPT_GRACE);
        tokio::select! {
            event = handle.next_event() => match event {
                Some(event) => forward(event, events, &mut usage),
                None => break,
            },
            Ok(()) = stop.changed(), if interrupted_at.is_none() => {
                if stop.borrow().is_some() {
                    interrupted_at = Some(tokio::time::Instant::now());
                    let c = controller.clone();
                    tokio::spawn(async move { c.interrupt().await });
                }
            }
            _ = tokio::time::sleep_until(grace_end), if interrupted_at.is_some() => {
                return Ok(TurnOutcome {
                    turn_id,
                    end: TurnEnd::Interrupted,
                    final_response: None,
                    usage: usage.turn,
                });
            }
        }
    }
    let result = handle.wait().await;
    let (end, final_response) = match result {
        Ok(r) if r.status == TurnStatus::Interrupted => (TurnEnd::Interrupted, r.final_response),
        Ok(r) => (TurnEnd::Completed, r.final_response),
        Err(client::Error::TurnFailed { error, .. }) => {
            let retryable = transient(error.codex_error_info.as_ref());
            let message = error.message;
            (TurnEnd::Failed { message, retryable }, None)
        }
        Err(client::Error::Watchdog { idle, .. }) => {
            let message = format!(
                "no event from the agent for {}; the turn was interrupted",
                crate::vocab::format_duration(idle)
            );
            (
                TurnEnd::Failed {
                    message,
                    retryable: false,
                },
                None,
            )
        }
        Err(err) => return Err(classify(err)),
    };
    Ok(TurnOutcome {
        turn_id,
        end,
        final_response,
        usage: usage.turn,
    })
}

/// Whether a turn error is worth another try (`codexErrorInfo`, PROTOCOL.md §5).
fn transient(info: Option<&serde_json::Value>) -> bool {
    let name = match info {
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(serde_json::Value::Object(m)) => m.keys().next().map_or("", String::as_str),
        _ => "",
    };
    matches!(
        name,
        "serverOverloaded"
            | "internalServerError"
            | "httpConnectionFailed"
            | "responseStreamDisconnected"
            | "responseTooManyFailedAttempts"
    )
}

/// Turns the thread's cumulative usage into this turn's.
#[derive(Default)]
struct UsageTracker {
    baseline: Option<Usage>,
    turn: Usage,
}

fn usage_of(b: &client::TokenBreakdown) -> Usage {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Usage {
        input_tokens: n(b.input_tokens),
        cached_input_tokens: n(b.cached_input_tokens),
        output_tokens: n(b.output_tokens),
        reasoning_output_tokens: n(b.reasoning_output_tokens),
        total_tokens: n(b.total_tokens),
    }
}

impl UsageTracker {
    fn update(&mut self, t: &TokenUsage) -> Usage {
        let total = usage_of(&t.total);
        let last = usage_of(&t.last);
        let base = *self
            .baseline
            .get_or_insert_with(|| total.saturating_sub(&last));
        self.turn = total.saturating_sub(&base);
        self.turn
    }
}

fn forward(event: TurnEvent, events: &mpsc::UnboundedSender<AgentEvent>, usage: &mut UsageTracker) {
    let out = match event {
        TurnEvent::AgentMessageDelta { delta, .. } => AgentEvent::Delta(delta),
        TurnEvent::TokenUsage(t) => AgentEvent::Usage(usage.update(&t)),
        TurnEvent::Error {
            error,
            will_retry: true,
        } => AgentEvent::Activity(format!("retrying after an error: {}", error.message)),
        TurnEvent::ItemStarted(item) => match activity(&item) {
            Some(text) => AgentEvent::Activity(text),
            None => return,
        },
        _ => return,
    };
    let _ = events.send(out);
}

/// What an item shows the agent doing: `$ cargo test`, `editing src/a.rs`.
fn activity(item: &ThreadItem) -> Option<String> {
    match &item.details {
        ItemDetails::CommandExecution(c) => {
            Some(format!("$ {}", super::approvals::shown_command(&c.command)))
        }
        ItemDetails::FileChange(f) => {
            let paths: Vec<String> = f
                .changes
                .iter()
                .map(|c| c.path.display().to_string())
                .collect();
            Some(format!("editing {}", paths.join(", ")))
        }
        _ => None,
    }
}

impl Approvals {
    fn register(&self, thread_id: &str, registration: Registration) {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        turns.insert(thread_id.to_string(), registration);
    }

    fn unregister(&self, thread_id: &str) {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        turns.remove(thread_id);
    }

    fn decide(&self, request: &ServerRequest) -> ServerResponse {
        let registration = {
            let turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
            request
                .thread_id
                .as_ref()
                .and_then(|t| turns.get(t).cloned())
        };
        let Some(reg) = registration else {
            return ServerResponse::Decline;
        };
        let (kind, subject, verdict) = match &request.kind {
            ServerRequestKind::CommandApproval { .. } => {
                let (shown, verdict) = reg.rules.decide_command_request(&request.params, &reg.cwd);
                ("command", shown, verdict)
            }
            ServerRequestKind::FileChangeApproval { paths, .. } => {
                let verdict = reg.rules.decide_files(paths, &reg.cwd);
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                (
                    "file change",
                    super::approvals::shorten(&shown.join(", ")),
                    verdict,
                )
            }
            _ => {
                let verdict = super::approvals::Verdict {
                    approved: false,
                    reason: format!("weft does not grant `{}`", request.method),
                };
                ("request", request.method.clone(), verdict)
            }
        };
        let _ = reg.events.send(AgentEvent::ApprovalRequested {
            kind: kind.to_string(),
            subject: subject.clone(),
        });
        let _ = reg.events.send(AgentEvent::Approval {
            kind: kind.to_string(),
            subject,
            approved: verdict.approved,
            reason: verdict.reason.clone(),
        });
        if verdict.approved {
            ServerResponse::Accept
        } else {
            ServerResponse::Decline
        }
    }
}

impl ServerRequestHandler for Approvals {
    fn handle(&self, request: ServerRequest) -> BoxFuture<'_, ServerResponse> {
        let response = self.decide(&request);
        Box::pin(async move { response })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(total: i64, last: i64) -> TokenUsage {
        TokenUsage {
            total: client::TokenBreakdown {
                total_tokens: total,
                ..Default::default()
            },
            last: client::TokenBreakdown {
                total_tokens: last,
                ..Default::default()
            },
            model_context_window: None,
        }
    }

    #[test]
    fn turn_usage_is_what_the_thread_used_since_the_turn_began() {
        let mut tracker = UsageTracker::default();
        assert_eq!(tracker.update(&usage(100, 15)).total_tokens, 15);
        assert_eq!(tracker.update(&usage(130, 30)).total_tokens, 45);
    }

    #[test]
    fn errors_the_agent_retries_show_as_activity() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut usage = UsageTracker::default();
        let error = client::TurnError {
            message: "stream disconnected".into(),
            ..Default::default()
        };
        forward(
            TurnEvent::Error {
                error: error.clone(),
                will_retry: true,
            },
            &tx,
            &mut usage,
        );
        forward(
            TurnEvent::Error {
                error,
                will_retry: false,
            },
            &tx,
            &mut usage,
        );
        assert_eq!(
            rx.try_recv().ok(),
            Some(AgentEvent::Activity(
                "retrying after an error: stream disconnected".into()
            ))
        );
        assert!(
            rx.try_recv().is_err(),
            "a final error ends the turn instead"
        );
    }

    #[test]
    fn transient_turn_errors_are_retried_and_others_are_not() {
        let info = |v: serde_json::Value| transient(Some(&v));
        assert!(info(serde_json::json!("serverOverloaded")));
        assert!(info(
            serde_json::json!({"httpConnectionFailed": {"httpStatusCode": 502}})
        ));
        assert!(!info(serde_json::json!("badRequest")));
        assert!(!info(serde_json::json!("contextWindowExceeded")));
        assert!(!transient(None));
    }
}
