//! [`LoopUnit`]: runs a step's iterations one after another, each a unit its body makes
//! with `iteration.number` and `iteration.previous` in the context; after each iteration
//! that succeeded, `until` is evaluated (or `until_run` run) and the iteration reported.
//! The output is the last iteration's; `iterations` lists them all.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use super::{IterationBody, IterationRecord};
use crate::engine::agent::{AgentEvent, StopReason, ThreadOpen, Usage};
use crate::engine::context::{with_iteration, with_output};
use crate::engine::event::Status;
use crate::engine::script::{Ended, Invocation, render_env, run};
use crate::engine::spec::{LoopSpec, UntilSpec};
use crate::engine::threads::ThreadSource;
use crate::engine::unit::{
    Unit, UnitFuture, UnitKey, UnitLink, UnitMsg, UnitResult, UnitSender, describe_stop_as,
};
use crate::template::Renderer;
use crate::vocab::{LoopThread, OnMax, Shell};

/// A loop's `until_run`: a script, run like the step's scripts.
pub(in crate::engine) struct UntilRun {
    pub script: String,
    pub shell: Shell,
    /// The step's `env`: names and value templates, rendered per iteration.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub timeout: Option<Duration>,
    /// The workflow file its `env` templates are written in.
    pub scope: usize,
    /// The run's own directory (`WEFT_RUN_DIR`).
    pub run_dir: Option<PathBuf>,
}

/// A step's unit that repeats its body.
pub(in crate::engine) struct LoopUnit {
    pub key: UnitKey,
    pub spec: LoopSpec,
    pub body: Box<dyn IterationBody>,
    /// The unit's context (with its fan-out element).
    pub context: Value,
    pub renderer: Arc<Renderer>,
    /// Where the first iteration (with `thread: fresh`, every iteration) of a turn runs.
    pub first_thread: Option<ThreadSource>,
    /// The iterations an earlier session finished, in order.
    pub saved: Vec<IterationRecord>,
    pub until_run: Option<UntilRun>,
}

impl Unit for LoopUnit {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

/// What the iterations so far add up to.
struct Tally {
    outputs: Vec<Value>,
    usage: Usage,
    attempts: u32,
    /// Where the next iteration runs (a turn).
    thread: Option<ThreadSource>,
    previous: Value,
}

/// Whether the loop goes on after an iteration.
#[derive(PartialEq)]
enum Flow {
    Next,
    Done,
}

impl LoopUnit {
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let started = Instant::now();
        let mut result = UnitResult::new(self.key);
        let mut tally = self.resume(&mut result);
        let first = tally.outputs.len() as u32 + 1;
        let mut flow = Flow::Next;
        for number in first..=self.spec.max_iterations {
            flow = self.iterate(number, &mut tally, &link, &mut result).await;
            if flow == Flow::Done {
                break;
            }
        }
        if flow == Flow::Next {
            self.at_the_limit(&mut result, tally.outputs.last());
        }
        result.iterations = Some(tally.outputs);
        result.usage = tally.usage;
        result.attempts = tally.attempts;
        result.duration = started.elapsed();
        result
    }

    /// Runs iteration `number`, reports it, and says whether the loop goes on; when it
    /// does not, `result` says how the loop ended.
    async fn iterate(
        &self,
        number: u32,
        tally: &mut Tally,
        link: &UnitLink,
        result: &mut UnitResult,
    ) -> Flow {
        if let Some(reason) = link.stop.borrow().clone() {
            stopped(result, &reason);
            return Flow::Done;
        }
        let context = with_iteration(self.context.clone(), number, &tally.previous);
        let unit = match self.body.make(&context, Some(number), tally.thread.clone()) {
            Ok(unit) => unit,
            Err(error) => {
                result.error = Some(format!("iteration {number}: {error}"));
                return Flow::Done;
            }
        };
        let started = Instant::now();
        let ran = relay(unit, link, tally.usage).await;
        tally.usage.add(&ran.usage);
        tally.attempts += ran.attempts;
        let ended = match ran.status {
            Status::Succeeded => self.ended(&context, &ran, link).await,
            _ => Ok(false),
        };
        let record = IterationRecord {
            number,
            status: if ended.is_err() {
                Status::Failed
            } else {
                ran.status
            },
            output: ran.output.clone(),
            error: ran.error.clone().or_else(|| ended.clone().err()),
            usage: ran.usage,
            thread_id: ran.thread_id.clone(),
            attempts: ran.attempts,
            duration_ms: started.elapsed().as_millis() as u64,
            ended: ended == Ok(true),
        };
        link.sender.send(UnitMsg::Iteration(record.clone()));
        tally.outputs.push(ran.output.clone());
        take_last(result, &ran);
        if record.status != Status::Succeeded || record.ended {
            result.status = record.status;
            result.error = record.error.map(|e| format!("iteration {number}: {e}"));
            return Flow::Done;
        }
        if self.spec.thread == LoopThread::Same {
            tally.thread = ran.thread_id.map(ThreadSource::Existing);
        }
        tally.previous = ran.output;
        Flow::Next
    }

    /// The tally of the iterations an earlier session finished; where the next runs.
    fn resume(&self, result: &mut UnitResult) -> Tally {
        let mut tally = Tally {
            outputs: Vec::new(),
            usage: Usage::default(),
            attempts: 0,
            thread: self.first_thread.clone(),
            previous: Value::Null,
        };
        for saved in &self.saved {
            tally.outputs.push(saved.output.clone());
            tally.usage.add(&saved.usage);
            tally.attempts += saved.attempts;
            tally.previous = saved.output.clone();
            if let (LoopThread::Same, Some(id)) = (self.spec.thread, &saved.thread_id) {
                tally.thread = Some(ThreadSource::Open(ThreadOpen::Resume(id.clone())));
            }
            result.thread_id = saved.thread_id.clone().or(result.thread_id.take());
            result.output = saved.output.clone();
        }
        tally
    }

    /// Whether the loop's condition holds after an iteration that gave `ran`; an error
    /// when it cannot be told.
    async fn ended(
        &self,
        context: &Value,
        ran: &UnitResult,
        link: &UnitLink,
    ) -> Result<bool, String> {
        match &self.spec.until {
            UntilSpec::Expression(expr) => self
                .renderer
                .truthy(expr, &with_output(context.clone(), &ran.output))
                .map_err(|e| format!("`until` could not be evaluated: {e}")),
            UntilSpec::Run(_) => match &self.until_run {
                Some(until) => until.check(context, &self.renderer, link).await,
                None => Ok(false),
            },
        }
    }

    /// Reaching `max_iterations` without the condition holding: a failure, unless
    /// `on_max: succeed`.
    fn at_the_limit(&self, result: &mut UnitResult, last: Option<&Value>) {
        let n = self.spec.max_iterations;
        match self.spec.on_max {
            OnMax::Succeed => {
                result.status = Status::Succeeded;
                result.error = None;
                result.output = last.cloned().unwrap_or(Value::Null);
            }
            OnMax::Fail => {
                result.status = Status::Failed;
                let what = match self.spec.until {
                    UntilSpec::Expression(ref e) => format!("`until: {e}` never held"),
                    UntilSpec::Run(ref r) => format!("`until_run: {}` never exited 0", r.trim()),
                };
                result.error = Some(format!(
                    "did not converge after {n} iteration{}: {what}",
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
    }
}

impl UntilRun {
    /// Runs the script after an iteration: exit code 0 ends the loop.
    async fn check(
        &self,
        context: &Value,
        renderer: &Renderer,
        link: &UnitLink,
    ) -> Result<bool, String> {
        let env = render_env(
            &self.env,
            self.scope,
            self.run_dir.as_deref(),
            context,
            renderer,
        )
        .map_err(|(name, e)| format!("`env.{name}` could not be rendered: {e}"))?;
        let invocation = Invocation {
            argv: self.shell.argv(&self.script),
            env,
            cwd: self.cwd.clone(),
        };
        let first_line = self.script.lines().next().unwrap_or_default().trim();
        link.sender
            .send(UnitMsg::Event(AgentEvent::Activity(format!(
                "until_run: {first_line}"
            ))));
        let deadline = self.timeout.map(|t| (tokio::time::Instant::now() + t, t));
        let mut stop = link.stop.clone();
        let ran = run(&invocation, deadline, &mut stop, |_| {}).await;
        match ran.ended {
            Ended::Code(code) => Ok(code == 0),
            Ended::Signal(_) => Ok(false),
            Ended::Stopped(reason) => Err(format!(
                "`until_run` {}",
                describe_stop_as(&reason, "it was stopped")
            )),
            Ended::NotStarted(why) => Err(format!("`until_run` could not run: {why}")),
        }
    }
}

/// Runs one iteration's unit, relaying its messages with the usage of the earlier
/// iterations added (the scheduler counts a unit's usage over everything it ran).
async fn relay(unit: Box<dyn Unit>, link: &UnitLink, before: Usage) -> UnitResult {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let key = UnitKey {
        step: 0,
        index: None,
    };
    let inner = UnitLink {
        sender: UnitSender::new(key, tx),
        stop: link.stop.clone(),
    };
    let forward = |msg: UnitMsg| {
        let msg = match msg {
            UnitMsg::Event(AgentEvent::Usage(mut usage)) => {
                usage.add(&before);
                UnitMsg::Event(AgentEvent::Usage(usage))
            }
            other => other,
        };
        link.sender.send(msg);
    };
    let running = unit.run(inner);
    tokio::pin!(running);
    let result = loop {
        tokio::select! {
            biased;
            Some((_, msg)) = rx.recv() => forward(msg),
            result = &mut running => break result,
        }
    };
    while let Ok((_, msg)) = rx.try_recv() {
        forward(msg);
    }
    result
}

/// The loop's result takes the last iteration's output, thread, exit code and stderr.
fn take_last(result: &mut UnitResult, ran: &UnitResult) {
    result.output = ran.output.clone();
    result.thread_id = ran.thread_id.clone().or(result.thread_id.take());
    result.exit_code = ran.exit_code;
    result.stderr = ran.stderr.clone();
    result.fatal = ran.fatal;
}

fn stopped(result: &mut UnitResult, reason: &StopReason) {
    result.status = if *reason == StopReason::Cancelled {
        Status::Interrupted
    } else {
        Status::Failed
    };
    result.error = Some(describe_stop_as(reason, "the loop was stopped"));
}
