//! An in-process fake agent for the engine's unit tests: a script decides each turn.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::agent::{
    Agent, AgentError, AgentEvent, StopReason, ThreadOpen, ThreadOptions, TurnEnd, TurnOutcome,
    TurnSpec, Usage,
};

/// What the fake does for one turn.
#[derive(Debug, Clone)]
pub struct FakeTurn {
    pub answer: Option<String>,
    pub delay: Duration,
    pub tokens: u64,
    pub end: TurnEnd,
    pub error: Option<AgentError>,
    pub approval: Option<String>,
}

impl FakeTurn {
    pub fn answer(text: &str) -> Self {
        Self {
            answer: Some(text.to_string()),
            delay: Duration::ZERO,
            tokens: 10,
            end: TurnEnd::Completed,
            error: None,
            approval: None,
        }
    }

    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A turn the fake saw.
#[derive(Debug, Clone)]
pub struct SeenTurn {
    pub thread_id: String,
    pub input: String,
    pub schema: bool,
    pub approval: Option<bool>,
}

type Script = Box<dyn Fn(&TurnSpec) -> FakeTurn + Send + Sync>;

pub struct FakeAgent {
    script: Script,
    pub opened: Mutex<Vec<(ThreadOpen, ThreadOptions, String)>>,
    pub turns: Mutex<Vec<SeenTurn>>,
    pub released: Mutex<Vec<String>>,
    /// Everything done to threads, in order: `open THREAD`, `turn THREAD`, `release THREAD`.
    pub log: Mutex<Vec<String>>,
    next_id: AtomicUsize,
    running: AtomicUsize,
    pub peak: AtomicUsize,
}

impl FakeAgent {
    pub fn new(script: impl Fn(&TurnSpec) -> FakeTurn + Send + Sync + 'static) -> Self {
        Self {
            script: Box::new(script),
            opened: Mutex::new(Vec::new()),
            turns: Mutex::new(Vec::new()),
            released: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            next_id: AtomicUsize::new(1),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    pub fn turns(&self) -> Vec<SeenTurn> {
        self.turns.lock().unwrap().clone()
    }

    pub fn opened(&self) -> Vec<(ThreadOpen, ThreadOptions, String)> {
        self.opened.lock().unwrap().clone()
    }

    pub fn released(&self) -> Vec<String> {
        self.released.lock().unwrap().clone()
    }
}

impl Agent for FakeAgent {
    async fn open_thread(
        &self,
        how: ThreadOpen,
        options: ThreadOptions,
    ) -> Result<String, AgentError> {
        let id = match &how {
            ThreadOpen::Resume(id) | ThreadOpen::Reopen(id) => id.clone(),
            _ => format!("t{}", self.next_id.fetch_add(1, Ordering::SeqCst)),
        };
        let from = match &how {
            ThreadOpen::Fork(parent) => format!(" from {parent}"),
            _ => String::new(),
        };
        self.log.lock().unwrap().push(format!("open {id}{from}"));
        self.opened.lock().unwrap().push((how, options, id.clone()));
        Ok(id)
    }

    async fn run_turn(
        &self,
        turn: TurnSpec,
        events: mpsc::UnboundedSender<AgentEvent>,
        mut stop: watch::Receiver<Option<StopReason>>,
    ) -> Result<TurnOutcome, AgentError> {
        let plan = (self.script)(&turn);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let approval = plan.approval.as_ref().map(|cmd| {
            let _ = events.send(AgentEvent::ApprovalRequested {
                kind: "command".into(),
                subject: cmd.clone(),
            });
            let verdict = turn.approvals.decide_command(std::slice::from_ref(cmd));
            let _ = events.send(AgentEvent::Approval {
                kind: "command".into(),
                subject: cmd.clone(),
                approved: verdict.approved,
                reason: verdict.reason,
            });
            verdict.approved
        });
        self.log
            .lock()
            .unwrap()
            .push(format!("turn {}", turn.thread_id));
        self.turns.lock().unwrap().push(SeenTurn {
            thread_id: turn.thread_id.clone(),
            input: turn.input.clone(),
            schema: turn.output_schema.is_some(),
            approval,
        });
        let usage = Usage {
            total_tokens: plan.tokens,
            ..Usage::default()
        };
        let _ = events.send(AgentEvent::Usage(usage));
        let interrupted = tokio::select! {
            _ = tokio::time::sleep(plan.delay) => false,
            _ = stop.wait_for(Option::is_some) => true,
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        if let Some(err) = plan.error {
            return Err(err);
        }
        Ok(TurnOutcome {
            turn_id: "turn".into(),
            end: if interrupted {
                TurnEnd::Interrupted
            } else {
                plan.end
            },
            final_response: plan.answer,
            usage,
        })
    }

    async fn release_thread(&self, thread_id: String) -> Result<(), AgentError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("release {thread_id}"));
        self.released.lock().unwrap().push(thread_id);
        Ok(())
    }
}
