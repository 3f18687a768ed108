//! `weft::cli::run` writes only to the writers it is given: progress, the summary, errors
//! and `--events -` reach them, with the exit code of what happened.

mod support;

use clap::Parser;
use weft::cli::Cli;
use weft::engine::event::RunEvent;

/// Runs `weft ARGS` in this process; its exit code, stdout and stderr.
fn weft(args: &[&str]) -> (i32, String, String) {
    let cli = Cli::parse_from(std::iter::once("weft").chain(args.iter().copied()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = weft::cli::run(cli, &mut out, &mut err);
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (code, text(out), text(err))
}

#[test]
fn an_error_goes_to_the_error_writer_with_its_exit_code() {
    let (code, out, err) = weft(&["plan", "/nonexistent/w.yaml"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.starts_with("error: cannot read `/nonexistent/w.yaml`"),
        "{err}"
    );
    let (code, _, err) = weft(&["runs", "--runs-dir", "/nonexistent", "show", "last"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn a_run_writes_its_progress_events_and_summary_to_the_given_writers() {
    let runs = tempfile::tempdir().expect("temp dir");
    let bin = support::codex_bin();
    let (code, out, err) = weft(&[
        "run",
        "workflows/hello.yaml",
        "--replay",
        "workflows/hello.cassette.json",
        "--codex-bin",
        bin.to_str().expect("utf-8 path"),
        "--runs-dir",
        runs.path().to_str().expect("utf-8 path"),
        "--progress",
        "plain",
        "--events",
        "-",
        "--output",
        "off",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("[summarise] succeeded"), "{err}");
    assert!(err.contains("run record: "), "{err}");
    let events: Vec<RunEvent> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one event per line"))
        .collect();
    assert!(matches!(events.first(), Some(RunEvent::RunStarted { .. })));
    assert!(matches!(events.last(), Some(RunEvent::RunFinished { .. })));
}
