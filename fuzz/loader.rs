//! The workflow loader on hostile files: the example workflows cut, spliced and salted
//! with YAML and template syntax, and small generated documents. Loading never panics or
//! hangs; every diagnostic points inside the file and renders; a file that loads plans and
//! renders in every format.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use weft::plan::{Format, Plan, render};
use weft::workflow::load_str;

use crate::harness::fuzz;

/// Pieces the mutations insert: YAML structure, anchors and tags, template syntax, the
/// workflow's own keys, odd characters and numbers.
const TOKENS: &[&str] = &[
    ": ",
    "- ",
    "\n",
    "\n  ",
    "\n    - ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "!!str ",
    "!custom ",
    "? ",
    "|\n  ",
    ">-\n  ",
    "'",
    "\"",
    "#",
    "\t",
    "\r\n",
    "\r",
    "---\n",
    "...\n",
    "%YAML 1.2\n---\n",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "steps.",
    "inputs.",
    "loop.index",
    "needs: [",
    "for_each: ",
    "thread: ",
    "fork: ",
    "resume: ",
    "if: ",
    "as: ",
    "output_schema: {type: object}",
    "prompt_file: ",
    "uses: ./",
    "with: {",
    "pools: {",
    "pool: ",
    "join: ",
    "config: {",
    "network: ",
    "x-",
    "{% include '",
    "$ref: '#'",
    "approvals: {commands: ['*']}",
    "timeout: ",
    "max_parallel: 0",
    "é",
    "🦀",
    "\u{0}",
    "\u{FEFF}",
    "\u{202E}",
    "9999999999999999999999",
    "-.inf",
    ".nan",
    "~",
    "null",
    "true",
    "0x1F",
    "1e400",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{a: {b: {c: {d: {e: {f: {g: {h: {i: {j: {}}}}}}}}}}",
];

fn seeds() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut seeds: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("workflows/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read a workflow");
            (p, text)
        })
        .collect();
    seeds.sort();
    seeds
}

/// One edit of a document, at a position given as a fraction of its length.
#[derive(Debug, Clone)]
enum Edit {
    Delete(f64, usize),
    Insert(f64, String),
    Duplicate(f64, usize, f64),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        4 => prop::sample::select(TOKENS).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => "[a-z_]{1,12}: [a-z{}% .|]{0,20}",
    ];
    prop_oneof![
        (0.0..1.0f64, 1..40usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0f64, token).prop_map(|(at, t)| Edit::Insert(at, t)),
        (0.0..1.0f64, 1..200usize, 0.0..1.0f64).prop_map(|(a, n, b)| Edit::Duplicate(a, n, b)),
    ]
}

fn boundary(text: &str, at: f64) -> usize {
    let mut i = ((text.len() as f64) * at) as usize;
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i.min(text.len())
}

fn apply(text: &mut String, edit: &Edit) {
    match edit {
        Edit::Delete(at, n) => {
            let start = boundary(text, *at);
            let end = boundary(
                text,
                ((start + n) as f64 / text.len().max(1) as f64).min(1.0),
            );
            text.replace_range(start..end.max(start), "");
        }
        Edit::Insert(at, token) => {
            let i = boundary(text, *at);
            text.insert_str(i, token);
        }
        Edit::Duplicate(at, n, to) => {
            let start = boundary(text, *at);
            let end = boundary(
                text,
                ((start + n) as f64 / text.len().max(1) as f64).min(1.0),
            );
            let piece = text[start..end.max(start)].to_owned();
            let i = boundary(text, *to);
            text.insert_str(i, &piece);
        }
    }
}

/// A small document built from the workflow's keys.
fn generated() -> impl Strategy<Value = String> {
    let step = (
        "[a-z][a-z_]{0,6}",
        prop::option::of("(steps\\.[a-z]{1,3}\\.output|inputs\\.[a-z]{1,3}|\\[1, 2\\])"),
        "[ -~]{0,30}",
        prop::option::of("[a-z]{1,3}"),
    )
        .prop_map(|(id, each, prompt, needs)| {
            let mut text = format!("  {id}:\n    prompt: \"{}\"\n", prompt.replace('"', "'"));
            if let Some(each) = each {
                text.push_str(&format!("    for_each: {each}\n"));
            }
            if let Some(needs) = needs {
                text.push_str(&format!("    needs: [{needs}]\n"));
            }
            text
        });
    prop::collection::vec(step, 0..6)
        .prop_map(|steps| format!("name: fuzz\nsteps:\n{}", steps.concat()))
}

#[test]
fn workflow_loader() {
    let seeds = seeds();
    assert!(!seeds.is_empty());
    let count = seeds.len();
    let mutated = (0..count, prop::collection::vec(edit(), 1..8)).prop_map(move |(i, edits)| {
        let (path, mut text) = seeds[i].clone();
        for edit in &edits {
            apply(&mut text, edit);
        }
        (path, text)
    });
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/fuzz.yaml");
    let inputs = prop_oneof![
        4 => mutated,
        1 => generated().prop_map(move |text| (base.clone(), text)),
    ];
    fuzz("workflow_loader", 12_000, inputs, |(path, text)| {
        check(&path, &text);
        Ok(())
    });
}

fn check(path: &Path, text: &str) {
    let dir = path.parent().unwrap_or(Path::new("."));
    match load_str(path, text, dir) {
        Ok(workflow) => {
            if let Ok(plan) = Plan::build(&workflow) {
                for format in [Format::Text, Format::Mermaid, Format::Dot, Format::Json] {
                    let _ = render(&plan, &workflow, format);
                }
            }
        }
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(error.count() > 0, "an error with no diagnostic");
            let _ = error.render();
            let own = path.display().to_string();
            for diagnostic in error.to_json().into_iter().filter(|d| d.file == own) {
                assert!(
                    diagnostic.line >= 1 && diagnostic.line <= lines + 1,
                    "diagnostic line {} outside the file of {lines} lines: {}",
                    diagnostic.line,
                    diagnostic.message
                );
            }
        }
    }
}
