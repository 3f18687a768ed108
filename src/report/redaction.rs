//! The one place where a run's events lose their secrets: [`EventRedactor`] masks every
//! event before the [`Reporter`](super::Reporter) hands it to any writer (progress, JSON
//! Lines, JUnit, GitHub, the run record), so a new writer cannot forget to. The agent's
//! text arrives in deltas that can cut a secret in two: each unit's deltas go through a
//! [`StreamRedactor`] that holds back what could be the start of a secret until the next
//! delta, or the end of the attempt, shows what it is.
//!
//! [`Redact`] for the event and record types lists every variant and every field (no `..`
//! where fields are read), so that one added later does not compile until it is masked too.

use std::collections::BTreeMap;

use super::state::{RunState, StepEntry};
use crate::engine::IterationRecord;
use crate::engine::event::RunEvent;
use crate::engine::tree::Patch;
use crate::redact::{Redact, Redactor, StreamRedactor};

/// Masks a run's secrets in its events, delta streams included.
#[derive(Debug, Default)]
pub struct EventRedactor {
    redactor: Redactor,
    /// The agent's text of each running unit (step, fan-out element), as it streams.
    streams: BTreeMap<(String, Option<usize>), StreamRedactor>,
}

impl EventRedactor {
    /// Masks `redactor`'s secrets.
    pub fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            streams: BTreeMap::new(),
        }
    }

    /// Whether there is nothing to mask (events pass as they are).
    pub fn is_empty(&self) -> bool {
        self.redactor.is_empty()
    }

    /// The events to write for `event`: none while a delta is held back; the rest of a
    /// unit's text before the event that ends its attempt.
    pub fn apply(&mut self, event: &RunEvent) -> Vec<RunEvent> {
        if let RunEvent::TurnDelta { step, index, delta } = event {
            let stream = self
                .streams
                .entry((step.clone(), *index))
                .or_insert_with(|| StreamRedactor::new(self.redactor.clone()));
            let ready = stream.push(delta.as_bytes());
            return text_event(step, *index, ready).into_iter().collect();
        }
        let mut out = Vec::new();
        match event {
            RunEvent::StepStarted { step, index, .. }
            | RunEvent::StepRetrying { step, index, .. }
            | RunEvent::StepFinished { step, index, .. } => self.release(
                |k| k.0 == *step && (index.is_none() || k.1 == *index),
                &mut out,
            ),
            RunEvent::RunFinished { .. } => self.release(|_| true, &mut out),
            _ => {}
        }
        out.push(event.redacted(&self.redactor));
        out
    }

    /// Ends the delta streams `which` selects, as delta events of what they held.
    fn release(
        &mut self,
        which: impl Fn(&(String, Option<usize>)) -> bool,
        out: &mut Vec<RunEvent>,
    ) {
        let keys: Vec<_> = self.streams.keys().filter(|k| which(k)).cloned().collect();
        for key in keys {
            if let Some(mut stream) = self.streams.remove(&key) {
                out.extend(text_event(&key.0, key.1, stream.finish()));
            }
        }
    }
}

fn text_event(step: &str, index: Option<usize>, text: Vec<u8>) -> Option<RunEvent> {
    (!text.is_empty()).then(|| RunEvent::TurnDelta {
        step: step.to_string(),
        index,
        delta: String::from_utf8_lossy(&text).into_owned(),
    })
}

impl Redact for RunEvent {
    fn redact(&mut self, r: &Redactor) {
        match self {
            RunEvent::RunStarted { .. }
            | RunEvent::StepStarted { .. }
            | RunEvent::StepRetrying { .. }
            | RunEvent::StepFinished { .. }
            | RunEvent::IterationFinished { .. }
            | RunEvent::GateWaiting { .. }
            | RunEvent::RunFinished { .. } => redact_lifecycle(self, r),
            RunEvent::TurnDelta { .. }
            | RunEvent::TurnActivity { .. }
            | RunEvent::TurnUsage { .. }
            | RunEvent::ApprovalRequested { .. }
            | RunEvent::ApprovalDecided { .. } => redact_turn(self, r),
        }
    }
}

/// The run's and the steps' beginnings and ends.
fn redact_lifecycle(event: &mut RunEvent, r: &Redactor) {
    match event {
        RunEvent::RunStarted {
            run_id,
            workflow,
            steps: _,
        } => {
            run_id.redact(r);
            workflow.redact(r);
        }
        RunEvent::StepStarted {
            step,
            index: _,
            thread_id,
            attempt: _,
            prompt,
            kind: _,
            iteration: _,
            item,
        } => {
            step.redact(r);
            thread_id.redact(r);
            prompt.redact(r);
            item.redact(r);
        }
        RunEvent::StepRetrying {
            step,
            index: _,
            attempt: _,
            reason,
        } => {
            step.redact(r);
            reason.redact(r);
        }
        RunEvent::StepFinished {
            step,
            index: _,
            status: _,
            error,
            output,
            duration_ms: _,
            usage: _,
            thread_id,
            attempts: _,
            reused: _,
            kind: _,
            exit_code: _,
            stderr,
            iterations,
            patch,
            cached: _,
            saved: _,
        } => {
            step.redact(r);
            error.redact(r);
            output.redact(r);
            thread_id.redact(r);
            stderr.redact(r);
            iterations.redact(r);
            if let Some(patch) = patch {
                patch.redact(r);
            }
        }
        RunEvent::IterationFinished {
            step,
            index: _,
            iteration: _,
            status: _,
            error,
            output,
            duration_ms: _,
            usage: _,
            thread_id,
            attempts: _,
            ended: _,
        } => {
            step.redact(r);
            error.redact(r);
            output.redact(r);
            thread_id.redact(r);
        }
        RunEvent::GateWaiting {
            step,
            index: _,
            question,
        } => {
            step.redact(r);
            question.redact(r);
        }
        RunEvent::RunFinished {
            status: _,
            duration_ms: _,
            usage: _,
        } => {}
        _ => {}
    }
}

/// What happens during a turn: text, activity, usage, approvals.
fn redact_turn(event: &mut RunEvent, r: &Redactor) {
    match event {
        RunEvent::TurnDelta {
            step,
            index: _,
            delta: text,
        }
        | RunEvent::TurnActivity {
            step,
            index: _,
            activity: text,
        } => {
            step.redact(r);
            text.redact(r);
        }
        RunEvent::TurnUsage {
            step,
            index: _,
            usage: _,
        } => step.redact(r),
        RunEvent::ApprovalRequested {
            step,
            index: _,
            kind,
            subject,
        } => {
            step.redact(r);
            kind.redact(r);
            subject.redact(r);
        }
        RunEvent::ApprovalDecided {
            step,
            index: _,
            kind,
            subject,
            approved: _,
            reason,
        } => {
            step.redact(r);
            kind.redact(r);
            subject.redact(r);
            reason.redact(r);
        }
        _ => {}
    }
}

impl Redact for RunState {
    fn redact(&mut self, r: &Redactor) {
        let RunState {
            version: _,
            run_id,
            workflow,
            workflow_path: _,
            workflow_hash: _,
            step_hashes: _,
            inputs,
            options,
            status: _,
            pid: _,
            started_at_ms: _,
            duration_ms: _,
            usage: _,
            sessions: _,
            steps,
            secret_env: _,
            shard,
            merged_from,
        } = self;
        run_id.redact(r);
        if let Some(shard) = shard {
            shard.step.redact(r);
            shard.from.redact(r);
        }
        merged_from.redact(r);
        workflow.redact(r);
        inputs.redact(r);
        options.model.redact(r);
        steps.redact(r);
    }
}

impl Redact for StepEntry {
    fn redact(&mut self, r: &Redactor) {
        let StepEntry {
            id,
            index: _,
            status: _,
            prompt,
            output,
            error,
            thread_id,
            usage: _,
            attempts: _,
            started_at_ms: _,
            duration_ms: _,
            reused: _,
            elements,
            kind: _,
            exit_code: _,
            stderr,
            iterations,
            patch,
            elements_file,
            item,
            cached: _,
            saved: _,
        } = self;
        id.redact(r);
        item.redact(r);
        elements_file.redact(r);
        prompt.redact(r);
        output.redact(r);
        error.redact(r);
        thread_id.redact(r);
        elements.redact(r);
        stderr.redact(r);
        iterations.redact(r);
        patch.redact(r);
    }
}

/// A patch's paths (the patch file's content is what the step wrote to the working tree;
/// see the README's Secrets section).
impl Redact for Patch {
    fn redact(&mut self, r: &Redactor) {
        let Patch {
            file,
            base: _,
            tree: _,
            files,
            insertions: _,
            deletions: _,
        } = self;
        file.redact(r);
        for change in files {
            change.path.redact(r);
        }
    }
}

impl Redact for IterationRecord {
    fn redact(&mut self, r: &Redactor) {
        let IterationRecord {
            number: _,
            status: _,
            output,
            error,
            usage: _,
            thread_id,
            attempts: _,
            duration_ms: _,
            ended: _,
        } = self;
        output.redact(r);
        error.redact(r);
        thread_id.redact(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::Status;
    use serde_json::json;

    const SECRET: &str = "open sesame 9f8e";

    fn redactor() -> EventRedactor {
        EventRedactor::new(Redactor::new([SECRET]).expect("redactor"))
    }

    fn delta(index: Option<usize>, text: &str) -> RunEvent {
        RunEvent::TurnDelta {
            step: "a".into(),
            index,
            delta: text.into(),
        }
    }

    fn finished(index: Option<usize>) -> RunEvent {
        RunEvent::StepFinished {
            step: "a".into(),
            index,
            status: Status::Succeeded,
            error: None,
            output: Some(json!({ "said": format!("it is {SECRET}") })),
            duration_ms: 1,
            usage: Default::default(),
            thread_id: None,
            attempts: 1,
            reused: false,
            kind: Default::default(),
            exit_code: None,
            stderr: Some(json!(format!("stderr: {SECRET}"))),
            iterations: None,
            patch: None,
            cached: false,
            saved: None,
        }
    }

    fn text_of(events: &[RunEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                RunEvent::TurnDelta { delta, .. } => Some(delta.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_secret_cut_across_deltas_never_reaches_a_writer() {
        let mut r = redactor();
        let mut written = Vec::new();
        for piece in ["the key: ", "open ", "sesame ", "9f8e", " ok", " open"] {
            written.extend(r.apply(&delta(None, piece)));
        }
        written.extend(r.apply(&finished(None)));
        assert_eq!(text_of(&written), "the key: *** ok open");
        let last = serde_json::to_string(written.last().unwrap()).unwrap();
        assert!(last.contains("it is ***"), "{last}");
        let all = serde_json::to_string(&written).unwrap();
        assert!(!all.contains("sesame"), "{all}");
    }

    #[test]
    fn each_fan_out_element_streams_on_its_own() {
        let mut r = redactor();
        let mut written = Vec::new();
        written.extend(r.apply(&delta(Some(0), "open ses")));
        written.extend(r.apply(&delta(Some(1), "ame 9f8e")));
        written.extend(r.apply(&finished(Some(1))));
        written.extend(r.apply(&finished(Some(0))));
        assert_eq!(text_of(&written), "ame 9f8eopen ses");
    }

    /// A writer that keeps what it is given.
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<RunEvent>>>);

    impl crate::report::EventWriter for Capture {
        fn write_event(&mut self, event: &RunEvent) -> Result<(), crate::report::ReportError> {
            self.0.lock().unwrap().push(event.clone());
            Ok(())
        }
    }

    #[test]
    fn every_writer_of_a_reporter_gets_masked_events() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut reporter = crate::report::Reporter::new(std::io::sink());
        reporter.add(Capture(seen.clone()));
        reporter.redact_with(Redactor::new([SECRET]).unwrap());
        reporter.write_event(&RunEvent::ApprovalDecided {
            step: "a".into(),
            index: None,
            kind: "command".into(),
            subject: format!("curl -H '{SECRET}'"),
            approved: false,
            reason: format!("`{SECRET}` matches nothing"),
        });
        reporter.write_event(&delta(None, "key: open ses"));
        reporter.write_event(&delta(None, "ame 9f8e."));
        reporter.write_event(&finished(None));
        let seen = serde_json::to_string(&*seen.lock().unwrap()).unwrap();
        assert!(!seen.contains("ses"), "{seen}");
        assert!(seen.contains("curl -H '***'"), "{seen}");
        assert!(seen.contains(r#""delta":"key: ""#), "{seen}");
        assert!(seen.contains(r#""delta":"***.""#), "{seen}");
    }

    #[test]
    fn without_secrets_events_are_unchanged() {
        let mut r = EventRedactor::default();
        assert!(r.is_empty());
        assert_eq!(r.apply(&delta(None, "open ")), vec![delta(None, "open ")]);
    }
}
