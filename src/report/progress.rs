//! The live view on a terminal: a line per running step (its thread, elapsed time, what the
//! agent does now, tokens), finished steps collapsing to a one-line result, an overall bar.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::color::Colors;
use super::pause::LivePause;
use super::plain::line;
use super::{EventWriter, ReportError};
use crate::engine::event::{RunEvent, Status};
use crate::engine::spec::Kind;

type Key = (String, Option<usize>);

/// Renders events as indicatif bars on stderr (or any draw target, for tests).
pub struct Live {
    multi: MultiProgress,
    pause: LivePause,
    overall: ProgressBar,
    units: HashMap<Key, UnitView>,
    tokens: HashMap<Key, u64>,
    verbose: bool,
    colors: Colors,
}

struct UnitView {
    bar: ProgressBar,
    thread: String,
    activity: String,
    tokens: u64,
    /// Agent text not yet printed (verbose): printed a line at a time.
    text: String,
}

impl Live {
    pub fn new(verbose: bool, colors: Colors) -> Self {
        Self::with_target(ProgressDrawTarget::stderr(), verbose, colors)
    }

    pub fn with_target(target: ProgressDrawTarget, verbose: bool, colors: Colors) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let bar = if colors.enabled {
            "{bar:24.cyan/blue}"
        } else {
            "{bar:24}"
        };
        let template = format!("{bar} {{pos}}/{{len}} steps  {{elapsed}}  {{msg}}");
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let overall = multi.add(ProgressBar::new(0).with_style(style));
        Self {
            pause: LivePause::new(multi.clone()),
            multi,
            overall,
            units: HashMap::new(),
            tokens: HashMap::new(),
            verbose,
            colors,
        }
    }

    fn unit(&mut self, key: &Key) -> &mut UnitView {
        let (multi, overall) = (&self.multi, &self.overall);
        self.units.entry(key.clone()).or_insert_with(|| {
            let style = ProgressStyle::with_template("{spinner} {prefix} {elapsed:>4} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar = multi.insert_before(overall, ProgressBar::new_spinner().with_style(style));
            bar.set_prefix(label(&key.0, key.1));
            bar.enable_steady_tick(Duration::from_millis(120));
            UnitView {
                bar,
                thread: String::new(),
                activity: "starting".into(),
                tokens: 0,
                text: String::new(),
            }
        })
    }

    fn print(&self, text: &str) {
        let clean: String = text
            .chars()
            .map(|c| {
                if c.is_control() && c != '\x1b' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        self.pause.println(clean);
    }

    /// A handle that hides this view while a person answers a question on the terminal.
    pub fn pauser(&self) -> LivePause {
        self.pause.clone()
    }

    fn refresh_overall(&self) {
        let total: u64 = self.tokens.values().sum();
        if total > 0 {
            self.overall.set_message(format!("{total} tokens"));
        }
    }

    fn finished(&mut self, key: Key, status: Status, event: &RunEvent) {
        if let Some(mut view) = self.units.remove(&key) {
            flush_text(&self.pause, &key, &mut view.text, true);
            view.bar.finish_and_clear();
            self.multi.remove(&view.bar);
        }
        if let Some(text) = line(event, false) {
            let glyph = match status {
                Status::Succeeded => "✓",
                Status::Failed => "✗",
                Status::Interrupted => "■",
                Status::Skipped => "-",
                Status::Waiting => "?",
            };
            self.print(&format!("{} {text}", self.colors.status(status, glyph)));
        }
        if key.1.is_none() {
            self.overall.inc(1);
        }
    }
}

fn label(step: &str, index: Option<usize>) -> String {
    match index {
        Some(i) => format!("[{step}#{i}]"),
        None => format!("[{step}]"),
    }
}

/// Prints the complete lines of `text` (all of it when `all`) above the bars.
fn flush_text(pause: &LivePause, key: &Key, text: &mut String, all: bool) {
    let print = |line: &str| {
        let clean: String = line
            .trim_end()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        pause.println(format!("{} > {clean}", label(&key.0, key.1)));
    };
    while let Some(at) = text.find('\n') {
        let line: String = text.drain(..=at).collect();
        print(&line);
    }
    if all && !text.trim().is_empty() {
        print(text);
        text.clear();
    }
}

impl UnitView {
    fn redraw(&self) {
        let mut parts = Vec::new();
        if !self.thread.is_empty() {
            parts.push(format!("thread {}", short(&self.thread)));
        }
        parts.push(self.activity.clone());
        if self.tokens > 0 {
            parts.push(format!("{} tokens", self.tokens));
        }
        self.bar.set_message(parts.join(" · "));
    }
}

/// The end of a thread id: v7 ids share their leading timestamp digits.
fn short(id: &str) -> String {
    match id.char_indices().rev().nth(7) {
        Some((i, _)) if i > 0 => format!("…{}", &id[i..]),
        _ => id.to_string(),
    }
}

impl EventWriter for Live {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        self.show(event);
        Ok(())
    }
}

impl Live {
    fn show(&mut self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted { steps, .. } => self.overall.set_length(*steps as u64),
            RunEvent::StepStarted {
                step,
                index,
                thread_id,
                attempt,
                kind,
                iteration,
                prompt,
                ..
            } => {
                let view = self.unit(&(step.clone(), *index));
                view.thread = thread_id.clone().unwrap_or_default();
                let doing = match kind {
                    Kind::Script => format!(
                        "$ {}",
                        prompt
                            .as_deref()
                            .unwrap_or_default()
                            .lines()
                            .next()
                            .unwrap_or_default()
                    ),
                    Kind::Gate => "asking".into(),
                    Kind::Turn => "thinking".into(),
                };
                let mut notes = Vec::new();
                notes.extend(iteration.map(|n| format!("iteration {n}")));
                if *attempt > 1 {
                    notes.push(format!("attempt {attempt}"));
                }
                notes.push(doing);
                view.activity = notes.join(" · ");
                view.redraw();
            }
            RunEvent::IterationFinished { .. } | RunEvent::GateWaiting { .. } => {
                if let Some(text) = line(event, false) {
                    self.print(&text);
                }
            }
            RunEvent::TurnActivity {
                step,
                index,
                activity,
            } => {
                let view = self.unit(&(step.clone(), *index));
                view.activity = activity.clone();
                view.redraw();
            }
            RunEvent::TurnUsage { step, index, usage } => {
                let key = (step.clone(), *index);
                self.tokens.insert(key.clone(), usage.total_tokens);
                let view = self.unit(&key);
                view.tokens = usage.total_tokens;
                view.redraw();
                self.refresh_overall();
            }
            RunEvent::TurnDelta { step, index, delta } => {
                let key = (step.clone(), *index);
                let verbose = self.verbose;
                let pause = self.pause.clone();
                let view = self.unit(&key);
                if view.activity.ends_with("thinking") {
                    view.activity = view.activity.replace("thinking", "writing");
                    view.redraw();
                }
                if verbose {
                    view.text.push_str(delta);
                    flush_text(&pause, &key, &mut view.text, false);
                }
            }
            RunEvent::ApprovalDecided { .. } | RunEvent::StepRetrying { .. } => {
                if let Some(text) = line(event, false) {
                    self.print(&text);
                }
            }
            RunEvent::StepFinished {
                step,
                index,
                status,
                ..
            } => self.finished((step.clone(), *index), *status, event),
            RunEvent::RunFinished { .. } => {
                for (_, view) in self.units.drain() {
                    view.bar.finish_and_clear();
                }
                self.overall.finish_and_clear();
                if let Some(text) = line(event, false) {
                    self.print(&text);
                }
            }
            RunEvent::ApprovalRequested { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::agent::Usage;
    use indicatif::InMemoryTerm;

    fn started(step: &str) -> RunEvent {
        RunEvent::StepStarted {
            step: step.into(),
            index: None,
            thread_id: Some("019a0000-0000-7000-8000-00000000abcd".into()),
            attempt: 1,
            prompt: None,
            kind: Kind::Turn,
            iteration: None,
            item: None,
        }
    }

    #[test]
    fn running_steps_show_what_the_agent_does_and_finished_ones_collapse() {
        let term = InMemoryTerm::new(12, 100);
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let mut live = Live::with_target(target, true, Colors::new(false));
        live.show(&RunEvent::RunStarted {
            run_id: "r".into(),
            workflow: "w".into(),
            steps: 2,
        });
        live.show(&started("survey"));
        live.show(&started("check"));
        live.show(&RunEvent::TurnActivity {
            step: "check".into(),
            index: None,
            activity: "$ cargo test".into(),
        });
        let usage = Usage {
            total_tokens: 15,
            ..Usage::default()
        };
        live.show(&RunEvent::TurnUsage {
            step: "check".into(),
            index: None,
            usage,
        });
        live.show(&RunEvent::TurnDelta {
            step: "survey".into(),
            index: None,
            delta: "found three items\n".into(),
        });
        live.show(&RunEvent::StepFinished {
            step: "survey".into(),
            index: None,
            status: Status::Succeeded,
            error: None,
            output: None,
            duration_ms: 1200,
            usage,
            thread_id: None,
            attempts: 1,
            reused: false,
            kind: Kind::Turn,
            exit_code: None,
            stderr: None,
            iterations: None,
            patch: None,
            cached: false,
            saved: None,
        });
        live.overall.tick();
        let screen = term.contents();
        assert!(screen.contains("[survey] > found three items"), "{screen}");
        assert!(
            screen.contains("✓ [survey] succeeded in 1.2s, 15 tokens"),
            "{screen}"
        );
        let check = screen
            .lines()
            .find(|l| l.contains("[check]"))
            .unwrap_or_else(|| panic!("no line for the running step:\n{screen}"));
        assert!(
            check.contains("thread …0000abcd · $ cargo test · 15 tokens"),
            "{check}"
        );
        assert!(
            !screen.contains("[survey] 0s"),
            "the finished step's bar is gone:\n{screen}"
        );
        assert!(screen.contains("1/2 steps"), "{screen}");
    }
}
