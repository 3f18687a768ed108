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
    /// Files the turn writes (path relative to the turn's `cwd`, contents) before it ends.
    pub edits: Vec<(String, String)>,
    /// The turn ends only once this is notified (or it is stopped).
    pub wait: Option<std::sync::Arc<tokio::sync::Notify>>,
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
            edits: Vec::new(),
            wait: None,
        }
    }

    /// The turn ends only once `notify` is notified.
    pub fn after(mut self, notify: std::sync::Arc<tokio::sync::Notify>) -> Self {
        self.wait = Some(notify);
        self
    }

    /// The turn also writes `text` to `path` (relative to its `cwd`).
    pub fn edit(mut self, path: &str, text: &str) -> Self {
        self.edits.push((path.to_string(), text.to_string()));
        self
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
    /// Every turn as the engine asked for it.
    pub specs: Mutex<Vec<TurnSpec>>,
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
            specs: Mutex::new(Vec::new()),
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

    pub fn specs(&self) -> Vec<TurnSpec> {
        self.specs.lock().unwrap().clone()
    }

    /// The threads the engine let go of, in order.
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
        self.specs.lock().unwrap().push(turn.clone());
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let approval = plan.approval.as_ref().map(|cmd| {
            let _ = events.send(AgentEvent::ApprovalRequested {
                kind: "command".into(),
                subject: cmd.clone(),
            });
            let verdict = turn.approvals.decide_script(cmd);
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
        for (path, text) in &plan.edits {
            let path = turn.cwd.join(path);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(path, text);
        }
        let usage = Usage {
            total_tokens: plan.tokens,
            ..Usage::default()
        };
        let _ = events.send(AgentEvent::Usage(usage));
        let waited = async {
            tokio::time::sleep(plan.delay).await;
            if let Some(notify) = &plan.wait {
                notify.notified().await;
            }
        };
        let interrupted = tokio::select! {
            _ = waited => false,
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

/// Runs `spec` on `agent` from `seed` (never cancelled): its report and every event, in
/// order. The run must end within 20 s.
pub async fn run_seeded(
    agent: &std::sync::Arc<FakeAgent>,
    spec: super::spec::RunSpec,
    seed: super::Seed,
) -> (super::RunReport, Vec<super::event::RunEvent>) {
    let (_tx, cancel) = watch::channel(false);
    let mut events = Vec::new();
    let mut sink = |e: &super::event::RunEvent| events.push(e.clone());
    let run = super::execute_seeded(agent.clone(), spec, seed, cancel, &mut sink);
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run finished");
    (report, events)
}
