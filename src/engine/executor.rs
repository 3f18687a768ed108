//! The executor: runs units as tasks. The scheduler starts units, cancels every running one
//! at once, and takes their messages and results in order (a unit's messages before its
//! result).

use std::future::Future;

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinSet};

use super::agent::StopReason;
use super::unit::{Unit, UnitKey, UnitLink, UnitMsg, UnitResult, UnitSender};

/// What the executor hands the scheduler.
pub(super) enum Report {
    /// A running unit's message.
    Message(UnitKey, UnitMsg),
    /// A unit's result.
    Finished(UnitResult),
    /// A unit's task panicked or was aborted.
    Crashed(JoinError),
}

/// The running units of one run.
pub(super) struct Executor {
    tasks: JoinSet<UnitResult>,
    /// Work that reports nothing (releasing threads); the run waits for it at its end.
    background: JoinSet<()>,
    stop: watch::Sender<Option<StopReason>>,
    tx: mpsc::UnboundedSender<(UnitKey, UnitMsg)>,
    rx: mpsc::UnboundedReceiver<(UnitKey, UnitMsg)>,
}

impl Executor {
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tasks: JoinSet::new(),
            background: JoinSet::new(),
            stop: watch::channel(None).0,
            tx,
            rx,
        }
    }

    /// Starts `unit` as a task.
    pub(super) fn start(&mut self, key: UnitKey, unit: Box<dyn Unit>) {
        let link = UnitLink {
            sender: UnitSender {
                key,
                tx: self.tx.clone(),
            },
            stop: self.stop.subscribe(),
        };
        self.tasks.spawn(unit.run(link));
    }

    /// Runs `work` beside the units; [`Executor::settle`] waits for it.
    pub(super) fn background(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.background.spawn(work);
    }

    /// Waits for the background work.
    pub(super) async fn settle(&mut self) {
        while self.background.join_next().await.is_some() {}
    }

    /// Asks every running unit (and every unit started later) to stop, for `reason`.
    pub(super) fn cancel(&self, reason: StopReason) {
        let _ = self.stop.send(Some(reason));
    }

    /// How many units run (their results not yet taken).
    pub(super) fn running(&self) -> usize {
        self.tasks.len()
    }

    /// The next message or result, messages first; `None` when no unit runs and no
    /// message waits. Cancel-safe.
    pub(super) async fn next(&mut self) -> Option<Report> {
        if self.tasks.is_empty() {
            let (key, msg) = self.rx.try_recv().ok()?;
            return Some(Report::Message(key, msg));
        }
        tokio::select! {
            biased;
            Some((key, msg)) = self.rx.recv() => Some(Report::Message(key, msg)),
            Some(joined) = self.tasks.join_next() => Some(match joined {
                Ok(result) => Report::Finished(result),
                Err(err) => Report::Crashed(err),
            }),
            else => None,
        }
    }
}
