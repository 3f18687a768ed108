//! The plain reporter: one line per event, no control characters, for logs and CI.

use std::collections::HashMap;
use std::io::Write;

use super::{EventWriter, ReportError};
use crate::engine::agent::Usage;
use crate::engine::event::{RunEvent, Status};
use crate::engine::spec::Kind;
use crate::vocab::format_duration;

/// Writes one readable line per event. Deltas are shown only when `verbose`.
pub struct Plain<W: Write + Send> {
    out: W,
    verbose: bool,
    /// Per step, the fan-out elements an earlier session finished that were kept and not
    /// told yet: one line tells them when the step goes on.
    kept: HashMap<String, usize>,
}

impl<W: Write + Send> Plain<W> {
    pub fn new(out: W, verbose: bool) -> Self {
        Self {
            out,
            verbose,
            kept: HashMap::new(),
        }
    }

    /// Counts a kept element (true), or, at the next event of a step that has kept
    /// elements, tells how many (unless the step itself is kept whole, which says so).
    fn count_kept(&mut self, event: &RunEvent) -> bool {
        let (step, index, reused, status) = match event {
            RunEvent::StepFinished {
                step,
                index,
                reused,
                status,
                ..
            } => (step, *index, *reused, *status),
            RunEvent::StepStarted { step, index, .. } => (step, *index, false, Status::Failed),
            _ => return false,
        };
        if reused && index.is_some() && status == Status::Succeeded {
            *self.kept.entry(step.clone()).or_default() += 1;
            return true;
        }
        if let Some(n) = self.kept.remove(step).filter(|_| !reused) {
            let elements = if n == 1 { "element" } else { "elements" };
            let _ = writeln!(
                self.out,
                "[{step}] {n} {elements} succeeded in an earlier session (kept)"
            );
        }
        false
    }
}

fn label(step: &str, index: Option<usize>) -> String {
    match index {
        Some(i) => format!("[{step}#{i}]"),
        None => format!("[{step}]"),
    }
}

fn tokens(usage: &Usage) -> String {
    if usage.total_tokens == 0 {
        String::new()
    } else {
        format!(", {} tokens", usage.total_tokens)
    }
}

fn ms(duration_ms: u64) -> String {
    let d = std::time::Duration::from_millis(duration_ms);
    if duration_ms >= 1000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format_duration(d)
    }
}

/// The line for `event`, or `None` when this event is not shown.
pub fn line(event: &RunEvent, verbose: bool) -> Option<String> {
    Some(match event {
        RunEvent::RunStarted {
            run_id,
            workflow,
            steps,
        } => format!("run {run_id}: workflow `{workflow}`, {steps} steps"),
        RunEvent::StepStarted { .. } => started(event),
        RunEvent::IterationFinished { .. } => iterated(event),
        RunEvent::GateWaiting { step, index, .. } => format!(
            "{} waits for an answer (there is no terminal to ask on)",
            label(step, *index)
        ),
        RunEvent::TurnDelta { step, index, delta } if verbose => {
            format!("{} > {}", label(step, *index), delta.escape_debug())
        }
        RunEvent::TurnActivity {
            step,
            index,
            activity,
        } => format!("{} {}", label(step, *index), one_line(activity, 100)),
        RunEvent::ApprovalDecided {
            step,
            index,
            kind,
            subject,
            approved,
            reason,
        } => {
            let verdict = if *approved { "approved" } else { "declined" };
            format!(
                "{} {verdict} {kind} `{subject}`: {reason}",
                label(step, *index)
            )
        }
        RunEvent::StepRetrying {
            step,
            index,
            attempt,
            reason,
        } => format!(
            "{} retrying (attempt {attempt}): {reason}",
            label(step, *index)
        ),
        RunEvent::StepFinished {
            step,
            index,
            status,
            error,
            duration_ms,
            usage,
            reused,
            patch,
            cached,
            saved,
            ..
        } => {
            if *reused && index.is_some() && *status == Status::Succeeded {
                return None;
            }
            if *reused {
                let why = error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Some(format!(
                    "{} {} in an earlier session (kept){why}",
                    label(step, *index),
                    status.as_str()
                ));
            }
            let head = format!("{} {}", label(step, *index), status.as_str());
            let changed = patch
                .as_ref()
                .map(|p| format!(", {}", p.summary()))
                .unwrap_or_default();
            if *cached {
                let saved = saved.map_or(0, |u| u.total_tokens);
                return Some(format!(
                    "{head} from the cache, {saved} tokens saved{changed}"
                ));
            }
            match (status, error) {
                (Status::Skipped | Status::Waiting, Some(e)) => format!("{head}: {e}"),
                (_, Some(e)) => format!(
                    "{head} in {}{}{changed}: {e}",
                    ms(*duration_ms),
                    tokens(usage)
                ),
                _ => format!("{head} in {}{}{changed}", ms(*duration_ms), tokens(usage)),
            }
        }
        RunEvent::RunFinished {
            status,
            duration_ms,
            usage,
        } => format!(
            "run {} in {}{}",
            status.as_str(),
            ms(*duration_ms),
            tokens(usage)
        ),
        RunEvent::TurnDelta { .. }
        | RunEvent::TurnUsage { .. }
        | RunEvent::ApprovalRequested { .. } => return None,
    })
}

/// `[step] started on thread …` (a turn), `[step] running: …` (a script), `[step] asks:
/// …` (a gate), with the iteration and attempt when there are.
fn started(event: &RunEvent) -> String {
    let RunEvent::StepStarted {
        step,
        index,
        thread_id,
        attempt,
        prompt,
        kind,
        iteration,
        ..
    } = event
    else {
        return String::new();
    };
    let mut notes = Vec::new();
    notes.extend(iteration.map(|n| format!("iteration {n}")));
    if *attempt > 1 {
        notes.push(format!("attempt {attempt}"));
    }
    let notes = match notes.is_empty() {
        true => String::new(),
        false => format!(" ({})", notes.join(", ")),
    };
    let what = prompt.as_deref().unwrap_or_default();
    let head = label(step, *index);
    match (kind, thread_id) {
        (Kind::Script, _) => format!("{head} running{notes}: {}", one_line(what, 100)),
        (Kind::Gate, _) => format!("{head} asks: {}", one_line(what, 200)),
        (Kind::Turn, Some(thread)) => format!("{head} started on thread {thread}{notes}"),
        (Kind::Turn, None) => format!("{head} started{notes}"),
    }
}

/// `[step] iteration N succeeded in …; the loop goes on` (or `…'s condition holds`).
fn iterated(event: &RunEvent) -> String {
    let RunEvent::IterationFinished {
        step,
        index,
        iteration,
        status,
        error,
        duration_ms,
        usage,
        ended,
        ..
    } = event
    else {
        return String::new();
    };
    let head = format!(
        "{} iteration {iteration} {}",
        label(step, *index),
        status.as_str()
    );
    let took = format!("in {}{}", ms(*duration_ms), tokens(usage));
    match (error, ended) {
        (Some(e), _) => format!("{head} {took}: {e}"),
        (None, true) => format!("{head} {took}; the loop's condition holds"),
        (None, false) => format!("{head} {took}; the loop goes on"),
    }
}

impl<W: Write + Send> EventWriter for Plain<W> {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        if self.count_kept(event) {
            return Ok(());
        }
        if let Some(text) = line(event, self.verbose) {
            let clean: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = writeln!(self.out, "{clean}");
        }
        Ok(())
    }
}

/// `text` on one line, cut to `max` characters with `…` (a heredoc is a long command).
fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(index: Option<usize>, status: Status, error: Option<&str>) -> RunEvent {
        RunEvent::StepFinished {
            step: "each".into(),
            index,
            status,
            error: error.map(str::to_owned),
            output: None,
            duration_ms: 5,
            usage: Default::default(),
            thread_id: None,
            attempts: 1,
            reused: true,
            kind: Default::default(),
            exit_code: None,
            stderr: None,
            iterations: None,
            patch: None,
            cached: false,
            saved: None,
        }
    }

    #[test]
    fn a_merge_names_its_step_and_the_elements_that_failed_not_every_element() {
        assert_eq!(line(&kept(Some(3), Status::Succeeded, None), false), None);
        assert_eq!(
            line(
                &kept(Some(4), Status::Failed, Some("shard 2/3 did not finish it")),
                false
            )
            .as_deref(),
            Some("[each#4] failed in an earlier session (kept): shard 2/3 did not finish it")
        );
        assert_eq!(
            line(&kept(None, Status::Succeeded, None), false).as_deref(),
            Some("[each] succeeded in an earlier session (kept)")
        );
    }
}
