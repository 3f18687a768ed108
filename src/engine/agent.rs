//! The engine's view of the agent: open threads, run turns. The real implementation is
//! [`crate::engine::CodexAgent`] over the app-server client; unit tests use a fake.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};

use super::approvals::ApprovalRules;
use crate::vocab::{Approval, Effort, Environment, Sandbox};

/// How to get a thread for a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadOpen {
    Start,
    Fork(String),
    /// Someone's existing thread (a `resume:` step).
    Resume(String),
    /// A thread of this run opened again by id: a named thread from an earlier session,
    /// or one the run released.
    Reopen(String),
}

/// The options of a thread being opened.
#[derive(Debug, Clone)]
pub struct ThreadOptions {
    pub model: Option<String>,
    pub effort: Option<Effort>,
    pub developer_instructions: Option<String>,
    pub cwd: Option<PathBuf>,
    pub approval: Approval,
    pub sandbox: Sandbox,
    /// Codex config overrides for the thread (`thread/start` `config`).
    pub config: Option<Map<String, Value>>,
    /// The shell environment (`None`: the Codex configuration's).
    pub environment: Option<Environment>,
}

/// Which step, fan-out element, loop iteration and attempt a turn belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TurnLabel {
    pub step: String,
    /// The 0-based fan-out element, for a step with `for_each`.
    pub index: Option<usize>,
    /// The loop iteration (from 1), for a step with `loop`.
    pub iteration: Option<u32>,
    /// 1 for the first turn, then one more per retry.
    pub attempt: u32,
}

/// One turn to run.
#[derive(Debug, Clone)]
pub struct TurnSpec {
    pub label: TurnLabel,
    pub thread_id: String,
    pub input: String,
    pub output_schema: Option<Value>,
    pub model: Option<String>,
    pub effort: Option<Effort>,
    pub approval: Approval,
    pub sandbox: Sandbox,
    pub cwd: PathBuf,
    pub approvals: Arc<ApprovalRules>,
    /// Network access in the `workspace-write` sandbox.
    pub network: bool,
    /// More directories a `workspace-write` turn may write (the run's own directory).
    pub writable_roots: Vec<PathBuf>,
}

/// Token usage of a turn, a step or a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    /// Field by field `self - other`, never below zero.
    pub fn saturating_sub(&self, other: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_sub(other.input_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(other.cached_input_tokens),
            output_tokens: self.output_tokens.saturating_sub(other.output_tokens),
            reasoning_output_tokens: self
                .reasoning_output_tokens
                .saturating_sub(other.reasoning_output_tokens),
            total_tokens: self.total_tokens.saturating_sub(other.total_tokens),
        }
    }

    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// Why the engine asks a running turn to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Timeout(std::time::Duration),
    StepBudget(u64),
    RunBudget(u64),
    RunTimeout(std::time::Duration),
    Cancelled,
}

/// What happens inside a turn, as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// Text the agent is writing.
    Delta(String),
    /// The turn's usage so far.
    Usage(Usage),
    /// What the agent is doing now: a command it runs, a file it edits.
    Activity(String),
    /// The agent asks for an approval (weft's answer follows as [`AgentEvent::Approval`]).
    ApprovalRequested { kind: String, subject: String },
    /// An approval request and weft's answer.
    Approval {
        kind: String,
        subject: String,
        approved: bool,
        reason: String,
    },
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEnd {
    Completed,
    Interrupted,
    Failed { message: String, retryable: bool },
}

/// A finished turn.
#[derive(Debug, Clone)]
pub struct TurnOutcome {
    pub turn_id: String,
    pub end: TurnEnd,
    pub final_response: Option<String>,
    pub usage: Usage,
}

/// Why a turn could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// The app-server is gone or broke the protocol: the run cannot go on.
    #[error("{0}")]
    Fatal(String),
    /// The server is overloaded: worth another try after a pause.
    #[error("{0}")]
    Retryable(String),
    /// The server refused the request: another try would fail the same way.
    #[error("{0}")]
    Rejected(String),
}

/// The agent as the engine uses it.
pub trait Agent: Send + Sync + 'static {
    /// Opens a thread and returns its id.
    fn open_thread(
        &self,
        how: ThreadOpen,
        options: ThreadOptions,
    ) -> impl Future<Output = Result<String, AgentError>> + Send;

    /// Runs one turn to its end. When `stop` turns to `Some`, the turn is interrupted
    /// and the outcome says [`TurnEnd::Interrupted`].
    fn run_turn(
        &self,
        turn: TurnSpec,
        events: mpsc::UnboundedSender<AgentEvent>,
        stop: watch::Receiver<Option<StopReason>>,
    ) -> impl Future<Output = Result<TurnOutcome, AgentError>> + Send;

    /// Lets go of a thread that nothing in the run uses again, so that the agent can free
    /// what it holds for it. No turn runs on it. A failure only means it stays loaded. An
    /// agent that holds nothing per thread has nothing to do (the default).
    fn release_thread(
        &self,
        thread_id: String,
    ) -> impl Future<Output = Result<(), AgentError>> + Send {
        let _ = thread_id;
        async { Ok(()) }
    }
}

/// The agent of a run without turns (only scripts and gates): no app-server is started,
/// and a turn, were one asked for, fails.
pub struct NoAgent;

impl Agent for NoAgent {
    async fn open_thread(
        &self,
        _how: ThreadOpen,
        _options: ThreadOptions,
    ) -> Result<String, AgentError> {
        Err(AgentError::Rejected("this run has no agent".into()))
    }

    async fn run_turn(
        &self,
        _turn: TurnSpec,
        _events: mpsc::UnboundedSender<AgentEvent>,
        _stop: watch::Receiver<Option<StopReason>>,
    ) -> Result<TurnOutcome, AgentError> {
        Err(AgentError::Rejected("this run has no agent".into()))
    }
}
