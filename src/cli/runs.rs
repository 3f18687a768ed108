//! `weft runs`: the recorded runs; `weft runs show RUN` one run step by step, and
//! `weft runs show RUN STEP` one step's prompt, output and transcript.

use std::path::Path;

use serde_json::Value;

use super::commands::Writer;
use super::record_args::{RunsArgs, RunsCommand};
use super::run::utc;
use crate::engine::event::RunEvent;
use crate::engine::spec::Kind;
use crate::engine::tree::Patch;
use crate::error::{EXIT_SUCCESS, Error};
use crate::report::summary::{align, duration, tokens};
use crate::report::{
    EVENTS_FILE, FILES_DIR, RecordStatus, RunState, RunStore, StepEntry, process_alive,
};

/// `weft runs [show RUN [STEP]]`.
pub fn runs(args: &RunsArgs, out: &mut Writer) -> Result<i32, Error> {
    let store = RunStore::new(&args.runs_dir);
    match &args.command {
        None => list(&store, out),
        Some(RunsCommand::Show {
            run,
            step,
            patch: true,
            element,
        }) => show_patch(&store, run, step.as_deref().unwrap_or(""), *element, out)?,
        Some(RunsCommand::Show { run, step, .. }) => show(&store, run, step.as_deref(), out)?,
    }
    Ok(EXIT_SUCCESS)
}

fn list(store: &RunStore, out: &mut Writer) {
    let ids = store.ids();
    if ids.is_empty() {
        let _ = writeln!(out, "no runs in `{}`", store.dir.display());
        return;
    }
    let mut rows = vec![header(&[
        "run", "workflow", "started", "status", "duration", "tokens",
    ])];
    for id in ids {
        let row = match RunState::load_head(&store.run_dir(&id)) {
            Ok(s) => vec![
                id,
                s.workflow.clone(),
                utc(s.started_at_ms),
                run_status(&s),
                s.duration_ms.map(duration).unwrap_or_default(),
                tokens(&s.usage),
            ],
            Err(_) => vec![id, "?".into(), "?".into(), "damaged".into()],
        };
        rows.push(row);
    }
    let _ = write!(out, "{}", align(&rows, &[4, 5]));
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_uppercase()).collect()
}

/// The run's status; a run recorded as running whose process is gone has `stopped`.
fn run_status(state: &RunState) -> String {
    let gone = state.pid.is_none_or(|pid| !process_alive(pid));
    match state.status {
        RecordStatus::Running if gone => "stopped".into(),
        other => other.as_str().into(),
    }
}

fn show(store: &RunStore, run: &str, step: Option<&str>, out: &mut Writer) -> Result<(), Error> {
    let dir = store.find(run)?;
    let state = RunState::load(&dir)?;
    match step {
        None => {
            show_run(&state, out);
            show_files(&dir.join(FILES_DIR), out);
        }
        Some(id) => show_step(&state, entry(&state, id)?, &dir, out),
    }
    Ok(())
}

fn entry<'a>(state: &'a RunState, id: &str) -> Result<&'a StepEntry, Error> {
    state.step(id).ok_or_else(|| {
        let known: Vec<&str> = state.steps.iter().map(|s| s.id.as_str()).collect();
        Error::Usage(format!(
            "run {} has no step `{id}` (it has: {})",
            state.run_id,
            known.join(", ")
        ))
    })
}

/// `weft runs show RUN STEP --patch [--element N]`: the patch file, as it is.
fn show_patch(
    store: &RunStore,
    run: &str,
    step: &str,
    element: Option<usize>,
    out: &mut Writer,
) -> Result<(), Error> {
    let dir = store.find(run)?;
    let state = RunState::load(&dir)?;
    let step_entry = entry(&state, step)?;
    let unit = match element {
        None => step_entry,
        Some(n) => step_entry
            .elements
            .iter()
            .find(|e| e.index == Some(n))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "step `{step}` of run {} has no element {n}",
                    state.run_id
                ))
            })?,
    };
    let what = match element {
        Some(n) => format!("element {n} of step `{step}`"),
        None => format!("step `{step}`"),
    };
    let Some(patch) = &unit.patch else {
        return Err(Error::Usage(no_patch(&state.run_id, &what, unit)));
    };
    let path = dir.join(&patch.file);
    let text = std::fs::read(&path)
        .map_err(|e| Error::io(format!("cannot read `{}`", path.display()), e))?;
    let _ = out.write_all(&text);
    Ok(())
}

fn show_run(state: &RunState, out: &mut Writer) {
    let _ = writeln!(
        out,
        "run {}: workflow `{}` ({})",
        state.run_id,
        state.workflow,
        state.workflow_path.display()
    );
    let _ = writeln!(
        out,
        "status {}, started {}, {} over {} session(s), {} tokens",
        run_status(state),
        utc(state.started_at_ms),
        state.duration_ms.map(duration).unwrap_or("-".into()),
        state.sessions,
        tokens(&state.usage)
    );
    if let Some(part) = &state.shard {
        let from = part
            .from
            .as_ref()
            .map(|f| format!(", upstream steps from run {f}"));
        let _ = writeln!(out, "{}{}", part.describe(), from.unwrap_or_default());
    }
    if !state.merged_from.is_empty() {
        let _ = writeln!(out, "merged from runs {}", state.merged_from.join(", "));
    }
    let _ = writeln!(out, "inputs: {}\n", state.inputs);
    let mut rows = vec![header(&[
        "step", "status", "duration", "attempts", "tokens", "thread",
    ])];
    for s in &state.steps {
        rows.push(step_row(s, &s.id));
        rows.extend(iteration_rows(s, "  "));
        for e in &s.elements {
            rows.push(step_row(e, &format!("  #{}", e.index.unwrap_or(0))));
            rows.extend(iteration_rows(e, "    "));
        }
    }
    let _ = write!(out, "{}", align(&rows, &[2, 3, 4]));
    for s in state.steps.iter().filter(|s| s.error.is_some()) {
        let _ = writeln!(
            out,
            "\n{} {}: {}",
            s.id,
            s.status.as_str(),
            s.error.as_deref().unwrap_or("")
        );
    }
}

/// The files in the run's own directory (`run.dir`), with their sizes.
fn show_files(dir: &Path, out: &mut Writer) {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files);
    if files.is_empty() {
        return;
    }
    files.sort();
    let _ = writeln!(out, "\nfiles in {}:", dir.display());
    let rows: Vec<Vec<String>> = files
        .into_iter()
        .map(|(name, size)| vec![format!("  {name}"), format!("{size} bytes")])
        .collect();
    let _ = write!(out, "{}", align(&rows, &[1]));
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(root, &path, out),
            Ok(_) => {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let size = entry.metadata().map_or(0, |m| m.len());
                out.push((name, size));
            }
            Err(_) => {}
        }
    }
}

fn step_row(s: &StepEntry, name: &str) -> Vec<String> {
    let status = if s.reused {
        format!("{} (kept)", s.status.as_str())
    } else {
        s.status.as_str().to_string()
    };
    vec![
        name.to_string(),
        status,
        s.duration_ms.map(duration).unwrap_or_default(),
        s.attempts.to_string(),
        tokens(&s.usage),
        s.thread_id.clone().unwrap_or_default(),
    ]
}

/// A row per finished iteration of a loop: `iteration N`, its status (`done` when the
/// loop's condition held after it), duration, attempts, tokens and thread.
fn iteration_rows(s: &StepEntry, indent: &str) -> Vec<Vec<String>> {
    s.iterations
        .iter()
        .map(|it| {
            let done = if it.ended { " (done)" } else { "" };
            vec![
                format!("{indent}iteration {}", it.number),
                format!("{}{done}", it.status.as_str()),
                duration(it.duration_ms),
                it.attempts.to_string(),
                tokens(&it.usage),
                it.thread_id.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn show_step(state: &RunState, entry: &StepEntry, dir: &Path, out: &mut Writer) {
    let _ = writeln!(
        out,
        "step `{}` of run {}: {}, {} attempt(s), {}, {} tokens, thread {}",
        entry.id,
        state.run_id,
        entry.status.as_str(),
        entry.attempts,
        entry.duration_ms.map(duration).unwrap_or("-".into()),
        tokens(&entry.usage),
        entry.thread_id.as_deref().unwrap_or("-"),
    );
    let units: Vec<&StepEntry> = if entry.elements.is_empty() {
        vec![entry]
    } else {
        entry.elements.iter().collect()
    };
    let what = match entry.kind {
        Kind::Turn => "prompt",
        Kind::Script => "script",
        Kind::Gate => "question",
    };
    for unit in units {
        let tag = unit.index.map(|i| format!(" #{i}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "\n--- {what}{tag}\n{}",
            unit.prompt.as_deref().unwrap_or("(none)")
        );
        for it in &unit.iterations {
            let _ = writeln!(
                out,
                "\n--- iteration {}{tag}: {}\n{}",
                it.number,
                it.status.as_str(),
                pretty(&it.output)
            );
        }
        let _ = writeln!(out, "\n--- output{tag}\n{}", pretty(&unit.output));
        if let Some(Value::Number(code)) = &unit.exit_code {
            let _ = writeln!(out, "\n--- exit code{tag}\n{code}");
        }
        if let Some(Value::String(stderr)) = unit.stderr.as_ref().filter(|s| s != &&Value::from(""))
        {
            let _ = writeln!(out, "\n--- stderr{tag}\n{}", stderr.trim_end());
        }
        if let Some(error) = &unit.error {
            let _ = writeln!(out, "\n--- error{tag}\n{error}");
        }
        if let Some(patch) = &unit.patch {
            let _ = writeln!(out, "{}", patch_section(patch, &tag));
        }
    }
    if let (false, Some(patch)) = (entry.elements.is_empty(), &entry.patch) {
        let _ = writeln!(
            out,
            "{}",
            patch_section(patch, " of the step (its elements' merged)")
        );
    }
    let _ = writeln!(out, "\n--- transcript");
    let writer = match entry.kind {
        Kind::Script => "output",
        _ => "agent",
    };
    for line in transcript(&dir.join(EVENTS_FILE), &entry.id, writer) {
        let _ = writeln!(out, "{line}");
    }
}

/// Why `unit` (`what`, of run `run`) has no patch to show.
fn no_patch(run: &str, what: &str, unit: &StepEntry) -> String {
    let with: Vec<String> = unit
        .elements
        .iter()
        .filter(|e| e.patch.is_some())
        .filter_map(|e| e.index.map(|i| i.to_string()))
        .collect();
    if with.is_empty() {
        return format!("{what} of run {run} has no patch: it changed no file weft tracks");
    }
    format!(
        "{what} of run {run} brought no patch back ({}); its elements {} have one: add `--element N`",
        unit.status.as_str(),
        with.join(", ")
    )
}

/// The `--- patch` section of a unit (or of a fan-out step, `merged`).
fn patch_section(patch: &Patch, tag: &str) -> String {
    let files: Vec<String> = patch
        .files
        .iter()
        .map(|f| format!("{} {}", f.change, f.path))
        .collect();
    format!(
        "\n--- patch{tag}: {} ({})\n{}",
        patch.summary(),
        patch.file,
        files.join("\n")
    )
}

fn pretty(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// What happened in step `step`, from the event log: sessions, attempts, iterations,
/// what the agent did and wrote (or a script printed: `writer` names who), approvals, the
/// end. Lines that do not parse (a log cut short) are skipped.
pub fn transcript(events: &Path, step: &str, writer: &str) -> Vec<String> {
    let text = std::fs::read_to_string(events).unwrap_or_default();
    let mut lines = Vec::new();
    let mut writing = String::new();
    let mut sessions = 0;
    let flush = |writing: &mut String, lines: &mut Vec<String>| {
        if !writing.trim().is_empty() {
            lines.push(format!("{writer}: {}", writing.trim()));
        }
        writing.clear();
    };
    for event in text
        .lines()
        .filter_map(|l| serde_json::from_str::<RunEvent>(l).ok())
    {
        if let RunEvent::RunStarted { .. } = &event {
            sessions += 1;
            lines.push(format!("(session {sessions})"));
            continue;
        }
        if let RunEvent::TurnDelta { step: s, delta, .. } = &event {
            if s == step {
                writing.push_str(delta);
            }
            continue;
        }
        if event_step(&event) != Some(step) {
            continue;
        }
        flush(&mut writing, &mut lines);
        if let Some(line) = crate::report::plain_line(&event, false) {
            lines.push(line);
        }
    }
    flush(&mut writing, &mut lines);
    lines
}

fn event_step(event: &RunEvent) -> Option<&str> {
    match event {
        RunEvent::StepStarted { step, .. }
        | RunEvent::TurnActivity { step, .. }
        | RunEvent::ApprovalDecided { step, .. }
        | RunEvent::StepRetrying { step, .. }
        | RunEvent::IterationFinished { step, .. }
        | RunEvent::GateWaiting { step, .. }
        | RunEvent::StepFinished { step, .. } => Some(step),
        _ => None,
    }
}
