//! How long weft takes to decide a command approval, on the largest and the most nested
//! commands it accepts to read, and the old backtracking glob beside the compiled one.
//! Prints a Markdown table for BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --example approvals_bench
//! ```

use std::time::{Duration, Instant};

use weft::engine::approvals::ApprovalRules;

/// Median of `rounds` runs of `f`.
fn median(rounds: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn rules(patterns: &[&str]) -> ApprovalRules {
    let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
    ApprovalRules::new(&p, &[])
}

/// The request codex sends for `script`.
fn request(script: &str) -> String {
    let quoted = format!("'{}'", script.replace('\'', r"'\''"));
    format!("/bin/bash -lc {quoted}")
}

/// The backtracking glob weft used before (exponential in the number of `*`).
fn old_glob(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| old_glob(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && old_glob(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && old_glob(&p[1..], &t[1..]),
    }
}

fn main() {
    let stars = "*a*a*a*a*a*a*a*a*a*a*b";
    let cases: Vec<(&str, String, Vec<&str>, bool)> = vec![
        (
            "12,500 × `ls -la` joined by `&&` (100 kB)",
            vec!["ls -la"; 12_500].join(" && "),
            vec!["ls*"],
            true,
        ),
        (
            "6,250 lines of `cargo test -p x` (100 kB)",
            vec!["cargo test -p x"; 6_250].join("\n"),
            vec!["cargo test*"],
            true,
        ),
        (
            "a pipeline of 16,000 `cat` (100 kB)",
            vec!["cat"; 16_000].join(" | "),
            vec!["cat"],
            true,
        ),
        (
            "one 100 kB word against `echo *a*a…*b` (10 `*`)",
            format!("echo {}", "a".repeat(100_000)),
            vec!["echo *a*a*a*a*a*a*a*a*a*a*b", "*a*a*a*a*a*a*a*a*a*c"],
            false,
        ),
        (
            "256 nested `while` loops (the limit)",
            format!(
                "{}ls; {}",
                "while ls; do ".repeat(256),
                "done; ".repeat(256)
            ),
            vec!["ls*"],
            true,
        ),
        (
            "256 nested subshells (the limit)",
            format!("{}ls{}", "(\n".repeat(256), "\n)".repeat(256)),
            vec!["ls*"],
            true,
        ),
    ];
    println!("| command | verdict | median |");
    println!("|---|---|---|");
    for (name, script, patterns, expected) in &cases {
        let rules = rules(patterns);
        let line = request(script);
        let verdict = rules.decide_command(&line);
        assert_eq!(verdict.approved, *expected, "{name}: {}", verdict.reason);
        let time = median(5, || {
            rules.decide_command(&line);
        });
        let shown = if verdict.approved {
            "approved"
        } else {
            "declined"
        };
        println!("| {name} | {shown} | {:.1} ms |", time.as_secs_f64() * 1e3);
    }
    println!();
    println!("| text | old backtracking glob | compiled glob |");
    println!("|---|---|---|");
    let glob = weft::vocab::Glob::command(stars);
    let pattern: Vec<char> = stars.chars().collect();
    for n in [12, 16, 20, 24] {
        let text: Vec<char> = "a".repeat(n).chars().collect();
        let old = median(3, || assert!(!old_glob(&pattern, &text)));
        let s: String = text.iter().collect();
        let new = median(3, || assert!(!glob.is_match(&s)));
        println!(
            "| {n} × `a` against `{stars}` | {:.1} ms | {:.3} ms |",
            old.as_secs_f64() * 1e3,
            new.as_secs_f64() * 1e3
        );
    }
}
