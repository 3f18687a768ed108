//! The README's first command, `scripts/demo`, run the way a newcomer runs it: in a fresh
//! copy of the repository (the files git tracks, as a clone has them), offline, with no
//! key. The copy shares the checkout's pinned Codex CLI (`.tools/`, a 400 MB download that
//! `scripts/codex-cli` would otherwise fetch again; installed first when missing) and keeps
//! its own cargo target directory under `target/fresh-clone/`, so later runs build
//! incrementally.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_readme_starts_with_the_demo_then_the_tests() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh code block");
    let commands: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(commands[..2], ["scripts/demo", "scripts/test"]);
}

/// Copies the files git would put in a clone (tracked, plus new files not ignored).
fn fresh_copy(to: &Path) {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(repo())
        .output()
        .expect("git ls-files");
    assert!(listed.status.success());
    if to.exists() {
        std::fs::remove_dir_all(to).expect("clear the old copy");
    }
    for path in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = String::from_utf8_lossy(path).into_owned();
        let from = repo().join(&rel);
        if !from.is_file() {
            continue;
        }
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&from, &dest).expect("copy");
    }
    support::pinned_codex();
    std::os::unix::fs::symlink(repo().join(".tools"), to.join(".tools")).expect("link .tools");
}

#[test]
fn the_demo_runs_split_module_from_its_cassette_in_a_fresh_copy() {
    let base = repo().join("target/fresh-clone");
    let copy = base.join("repo");
    fresh_copy(&copy);
    let output = Command::new(copy.join("scripts/demo"))
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", base.join("target"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_BIN")
        .env_remove("CODEX_HOME")
        .env_remove("WEFT_DEMO_DIR")
        .output()
        .expect("run scripts/demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("[split] succeeded"), "{stderr}");
    assert!(
        stderr.contains("[verify] approved command `cargo test`"),
        "{stderr}"
    );
    assert!(stderr.contains("run succeeded"), "{stderr}");
    assert!(stdout.contains("verified: `cargo test` passes"), "{stdout}");
    for line in [
        "  modified  src/shapes.rs (87 -> 22 lines)",
        "  added     src/shapes/circle.rs (29 lines)",
        "  added     src/shapes/point.rs (20 lines)",
        "  added     src/shapes/rect.rs (31 lines)",
    ] {
        assert!(stdout.contains(line), "{line} in\n{stdout}");
    }
    let shapes = std::fs::read_to_string(copy.join("target/demo/geometry/src/shapes.rs"))
        .expect("the scratch copy");
    assert!(shapes.contains("pub use rect::Rect;"));
    let fixture = std::fs::read_to_string(copy.join("workflows/fixtures/geometry/src/shapes.rs"))
        .expect("the fixture");
    assert!(
        fixture.contains("pub struct Rect"),
        "the fixture itself is untouched"
    );
}
