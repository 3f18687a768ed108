//! What keeping the run record costs per fan-out element: a `RunRecorder` is fed the
//! `step.started` and `step.finished` events of fan-outs of 250 to 2,000 elements (what
//! the scheduler sends it during a run), and the time per event is printed with the size
//! of `run.json`. `cargo bench --bench record_cost` (or `scripts/bench --record-only`).
//! Each figure is the best of five rounds. Constant time per event means the record costs the run nothing more per element as the
//! fan-out grows.

use std::time::Instant;

use serde_json::json;
use weft::engine::agent::Usage;
use weft::engine::event::{RunEvent, Status};
use weft::report::{EventWriter, RECORD_VERSION, RecordStatus, RunRecorder, RunState};

fn state() -> RunState {
    RunState {
        version: RECORD_VERSION,
        run_id: "bench".into(),
        workflow: "bench".into(),
        workflow_path: "bench.yaml".into(),
        workflow_hash: String::new(),
        step_hashes: Default::default(),
        inputs: json!({}),
        options: Default::default(),
        status: RecordStatus::Running,
        pid: None,
        started_at_ms: 0,
        duration_ms: None,
        usage: Usage::default(),
        sessions: 1,
        steps: Vec::new(),
        secret_env: Vec::new(),
        shard: None,
        merged_from: Vec::new(),
    }
}

fn events(n: usize) -> Vec<RunEvent> {
    let thread = |i: usize| format!("019a2790-0000-7000-8000-{i:012}");
    let started = (0..n).map(|i| RunEvent::StepStarted {
        step: "each".into(),
        index: Some(i),
        thread_id: Some(thread(i)),
        attempt: 1,
        prompt: Some(format!(
            "Move item {i} into a file of its own, keeping the public API as it is."
        )),
        kind: Default::default(),
        iteration: None,
        item: Some(json!({ "name": format!("item_{i}") })),
    });
    let finished = (0..n).map(|i| RunEvent::StepFinished {
        step: "each".into(),
        index: Some(i),
        status: Status::Succeeded,
        error: None,
        output: Some(json!({ "file": format!("src/item_{i}.rs"), "moved": true })),
        duration_ms: 1000,
        usage: Usage::default(),
        thread_id: Some(thread(i)),
        attempts: 1,
        reused: false,
        kind: Default::default(),
        exit_code: None,
        stderr: None,
        iterations: None,
        patch: None,
        cached: false,
        saved: None,
    });
    started.chain(finished).collect()
}

/// Records `events` in a new run directory: the time (events written, final state
/// saved) and the size of `run.json`.
fn record(events: &[RunEvent]) -> (std::time::Duration, u64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run_dir = dir.path().join("bench");
    let mut recorder = RunRecorder::create(&run_dir, state()).expect("create the record");
    let start = Instant::now();
    for event in events {
        recorder.write_event(event).expect("write the event");
    }
    recorder.flush().expect("save the record");
    let total = start.elapsed();
    let size = std::fs::metadata(run_dir.join("run.json")).map_or(0, |m| m.len());
    (total, size)
}

/// The best of five rounds for each length, as a Markdown table.
fn main() {
    println!("| elements | events | time per event | total | run.json |");
    println!("|---|---|---|---|---|");
    for n in [250, 500, 1000, 2000] {
        let events = events(n);
        let (total, size) = (0..5).map(|_| record(&events)).min().expect("five rounds");
        println!(
            "| {n} | {} | {:.1} µs | {:.0} ms | {:.1} KiB |",
            events.len(),
            total.as_secs_f64() * 1e6 / events.len() as f64,
            total.as_secs_f64() * 1e3,
            size as f64 / 1024.0
        );
    }
}
