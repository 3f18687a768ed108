//! The example workflows' recordings: what the mock model answers for each of them, the
//! sample workspace each runs in, and its inputs. `tests/example_cassettes.rs` records
//! `workflows/NAME.cassette.json` with these answers (written to be plausible for the
//! task, as a capable model would answer) and checks that recording is stable.

use std::path::PathBuf;

use serde_json::{Value, json};
use weft::mock::{MockReply, MockRequest};

use super::TestEnv;

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies `workflows/FIXTURE` into a fresh directory `name` under the environment, and
/// makes it a git repository with one commit (as `weft test` does with its workspace).
pub fn copy_fixture(env: &TestEnv, fixture: &str, name: &str) -> PathBuf {
    let dir = env.dir.path().join(name);
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo().join("workflows").join(fixture))
        .arg(&dir)
        .status()
        .expect("cp");
    assert!(status.success());
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-qm", "fixture"],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }
    dir
}

/// One example workflow and how it is recorded.
pub struct Example {
    pub name: &'static str,
    /// The fixture copied into the run's working directory, under `workflows/`.
    pub workspace: &'static str,
    pub inputs: &'static [(&'static str, &'static str)],
    /// Answers to its gates: step, approved, reply (as `NAME.expect.json` gives them).
    pub gates: &'static [(&'static str, bool, &'static str)],
    pub model: fn(&MockRequest) -> MockReply,
}

impl Example {
    /// The command-line arguments that answer its gates.
    pub fn gate_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (step, approved, reply) in self.gates {
            let verb = if *approved { "--approve" } else { "--reject" };
            args.extend([verb.to_string(), step.to_string()]);
            args.extend(["--reply".to_string(), reply.to_string()]);
        }
        args
    }
}

/// The five examples.
pub const EXAMPLES: [Example; 6] = [
    Example {
        name: "hello",
        workspace: "fixtures/geometry",
        inputs: &[],
        gates: &[],
        model: hello,
    },
    Example {
        name: "review-diff",
        workspace: "fixtures/review",
        inputs: &[("diff", "change.diff")],
        gates: &[],
        model: review,
    },
    Example {
        name: "split-module",
        workspace: "fixtures/geometry",
        inputs: &[("module", "src/shapes.rs")],
        gates: &[],
        model: split_module,
    },
    Example {
        name: "triage-failure",
        workspace: "fixtures/triage",
        inputs: &[("log", "test.log")],
        gates: &[],
        model: triage,
    },
    Example {
        name: "fix-tests",
        workspace: "fixtures/cache",
        inputs: &[],
        gates: &[(
            "confirm",
            true,
            "The ttl is inclusive: an entry is gone at exactly its ttl.",
        )],
        model: fix_tests,
    },
    Example {
        name: "audit-crate",
        workspace: "fixtures/geometry",
        inputs: &[],
        gates: &[],
        model: audit,
    },
];

/// How many tool calls the current turn has made: `function_call_output` items after
/// the last user message.
fn calls_so_far(request: &MockRequest) -> usize {
    let input = request.input();
    let start = input.iter().rposition(|i| i["role"] == "user").unwrap_or(0);
    input[start..]
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .count()
}

fn prompt(request: &MockRequest) -> String {
    request.last_user_text().unwrap_or_default()
}

fn hello(request: &MockRequest) -> MockReply {
    match calls_so_far(request) {
        0 => MockReply::command("cat Cargo.toml src/lib.rs && ls src tests"),
        _ => MockReply::text(
            "This repository is `geometry`, a small Rust library with no dependencies. \
             `src/shapes.rs` defines the `Shape` trait (area and perimeter), `Point`, \
             `Circle` and `Rect`, and `total_area` over any shapes; `src/lib.rs` re-exports \
             them, and `tests/shapes.rs` checks the public API. Run `cargo test` to see it \
             work, and start in `src/shapes.rs` to add a shape.",
        ),
    }
}

fn review(request: &MockRequest) -> MockReply {
    if calls_so_far(request) == 0 {
        return MockReply::command("cat change.diff && nl -ba src/config.rs");
    }
    MockReply::Json(json!({
        "summary": "Adds a PORT setting and shortens the default timeout from 30 s to 3 s.",
        "findings": [
            {"file": "src/config.rs", "line": 15, "severity": "error",
             "message": "`p.parse().unwrap()` panics when PORT is not a number (e.g. `PORT=http`); parse it with `.ok()` and fall back to 8080, or make `from_env` return a `Result`."},
            {"file": "src/config.rs", "line": 19, "severity": "warning",
             "message": "The default timeout drops from 30 s to 3 s, which may cut off slow clients; keep 30 s or say why in the change description."},
            {"file": "src/config.rs", "line": 13, "severity": "note",
             "message": "The doc comment now lists PORT; also document its default (8080)."}
        ]
    }))
}

fn split_module(request: &MockRequest) -> MockReply {
    let text = prompt(request);
    let calls = calls_so_far(request);
    if text.starts_with("List the public items") {
        return match calls {
            0 => MockReply::command("cat src/lib.rs src/shapes.rs"),
            _ => MockReply::Json(survey()),
        };
    }
    if text.starts_with("Group these") {
        return MockReply::Json(plan());
    }
    if let Some(part) = ["point", "circle", "rect"]
        .into_iter()
        .find(|p| text.starts_with(&format!("Create src/shapes/{p}.rs")))
    {
        let path = format!("src/shapes/{part}.rs");
        return match calls {
            0 => MockReply::command(format!(
                "mkdir -p src/shapes && cat > {path} <<'EOF'\n{}EOF",
                part_source(part)
            )),
            _ => MockReply::text(format!(
                "Created {path} in this part's own worktree; src/shapes.rs is unchanged, as asked (the next step rewires it)."
            )),
        };
    }
    match calls {
        0 => MockReply::command(format!("cat > src/shapes.rs <<'EOF'\n{}EOF", WIRED_SHAPES)),
        1 => MockReply::Items(vec![json!({
            "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "exec_command",
            "arguments": json!({"cmd": "cargo test", "login": false,
                "sandbox_permissions": "require_escalated",
                "justification": "cargo test builds into target/ and runs the test binaries"}).to_string()
        })]),
        _ => MockReply::text(
            "`cargo test` passes (4 tests in tests/shapes.rs). src/shapes.rs now declares \
             `point`, `circle` and `rect` and re-exports `Point`, `Circle` and `Rect`, so \
             `geometry::shapes::*` and the crate root export the same items as before.",
        ),
    }
}

fn survey() -> Value {
    let item = |name: &str, kind: &str, summary: &str| json!({"name": name, "kind": kind, "summary": summary});
    json!({"items": [
        item("Shape", "trait", "area and perimeter of any shape"),
        item("total_area", "fn", "sum of the areas of some shapes"),
        item("Point", "struct", "a point in the plane, with distance"),
        item("Circle", "struct", "centre and radius; contains, Shape impl"),
        item("Rect", "struct", "axis-aligned rectangle; contains, Shape impl"),
    ]})
}

fn plan() -> Value {
    let file = |path: &str, items: &[&str], reason: &str| json!({"path": path, "items": items, "reason": reason});
    json!({"files": [
        file("src/shapes/point.rs", &["Point"], "the coordinate type every shape builds on"),
        file("src/shapes/circle.rs", &["Circle"], "the circle with its Shape impl"),
        file("src/shapes/rect.rs", &["Rect"], "the rectangle with its Shape impl"),
    ]})
}

fn part_source(part: &str) -> &'static str {
    match part {
        "point" => POINT,
        "circle" => CIRCLE,
        _ => RECT,
    }
}

const POINT: &str = r#"//! Points in the plane.

/// A point in the plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    /// A point at (`x`, `y`).
    pub fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    /// The straight-line distance to `other`.
    pub fn distance(&self, other: &Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}
"#;

const CIRCLE: &str = r#"//! Circles.

use std::f64::consts::PI;

use super::{Point, Shape};

/// A circle: a centre and a radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub center: Point,
    pub radius: f64,
}

impl Circle {
    /// Whether `p` lies inside or on the circle.
    pub fn contains(&self, p: &Point) -> bool {
        self.center.distance(p) <= self.radius
    }
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        PI * self.radius * self.radius
    }

    fn perimeter(&self) -> f64 {
        2.0 * PI * self.radius
    }
}
"#;

const RECT: &str = r#"//! Axis-aligned rectangles.

use super::{Point, Shape};

/// An axis-aligned rectangle: its lower-left corner, width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub origin: Point,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    /// Whether `p` lies inside or on the rectangle.
    pub fn contains(&self, p: &Point) -> bool {
        p.x >= self.origin.x
            && p.x <= self.origin.x + self.width
            && p.y >= self.origin.y
            && p.y <= self.origin.y + self.height
    }
}

impl Shape for Rect {
    fn area(&self) -> f64 {
        self.width * self.height
    }

    fn perimeter(&self) -> f64 {
        2.0 * (self.width + self.height)
    }
}
"#;

const WIRED_SHAPES: &str = r#"//! Points, circles and rectangles, and what they have in common.

mod circle;
mod point;
mod rect;

pub use circle::Circle;
pub use point::Point;
pub use rect::Rect;

/// Something with an area and a perimeter.
pub trait Shape {
    /// The area enclosed.
    fn area(&self) -> f64;
    /// The length of the boundary.
    fn perimeter(&self) -> f64;
}

/// The sum of the areas of `shapes`.
pub fn total_area(shapes: &[&dyn Shape]) -> f64 {
    shapes.iter().map(|s| s.area()).sum()
}
"#;

fn triage(request: &MockRequest) -> MockReply {
    let text = prompt(request);
    let calls = calls_so_far(request);
    if text.starts_with("Read the test log") {
        return match calls {
            0 => MockReply::command("cat test.log && nl -ba src/cache.rs"),
            _ => MockReply::Json(json!({
                "test": "cache::tests::an_entry_expires_at_its_ttl",
                "hypotheses": [
                    {"id": "ttl-boundary",
                     "claim": "Cache::get keeps an entry alive at exactly `ttl`: it compares with `>` where the test expects expiry at `ttl`",
                     "how_to_check": "read the comparison in Cache::get (src/cache.rs) against the assertion at src/cache.rs:41"},
                    {"id": "clock-skew",
                     "claim": "the test's `Instant` arithmetic does not produce the times it intends",
                     "how_to_check": "read the test body at src/cache.rs:34-42"}
                ]
            })),
        };
    }
    if let Some(id) = ["ttl-boundary", "clock-skew"]
        .into_iter()
        .find(|id| text.starts_with(&format!("Check hypothesis `{id}`")))
    {
        return match (id, calls) {
            ("ttl-boundary", 0) => MockReply::command("grep -n 'duration_since' src/cache.rs"),
            ("ttl-boundary", _) => MockReply::Json(json!({
                "id": "ttl-boundary", "verdict": "confirmed", "confidence": 0.9,
                "evidence": [
                    {"file": "src/cache.rs", "line": 24, "observation": "`now.duration_since(*inserted) > self.ttl` keeps the entry when the age equals the ttl"},
                    {"file": "src/cache.rs", "line": 41, "observation": "the test expects `None` at exactly 10 s with a 10 s ttl"}
                ]
            })),
            (_, 0) => MockReply::command("sed -n 34,42p src/cache.rs"),
            _ => MockReply::Json(json!({
                "id": "clock-skew", "verdict": "refuted", "confidence": 0.8,
                "evidence": [
                    {"file": "src/cache.rs", "line": 37, "observation": "every time is `start` plus a fixed Duration; no real clock is read after `start`"}
                ]
            })),
        };
    }
    MockReply::Json(json!({
        "cause": "Cache::get treats an entry whose age equals the ttl as live (`>` instead of `>=`), so the entry is still returned at exactly 10 s",
        "confidence": 0.9,
        "evidence": [
            "src/cache.rs:24 compares `duration_since(inserted) > ttl`",
            "src/cache.rs:41 asserts `None` at exactly the ttl, and the log shows `Some(1)`",
            "the clock-skew hypothesis was refuted: the test uses fixed offsets from one Instant"
        ],
        "suggested_fix": "In Cache::get, expire at the ttl: `if now.duration_since(*inserted) >= self.ttl { return None; }`"
    }))
}

fn fix_tests(request: &MockRequest) -> MockReply {
    let text = prompt(request);
    let calls = calls_so_far(request);
    if text.contains("This is round 1") {
        return match calls {
            0 => MockReply::command("sed -i 's/> self.ttl/>= self.ttl/' src/lib.rs"),
            _ => MockReply::text(
                "`Cache::get` kept an entry alive at exactly its ttl (`>`); it now expires it \
                 there (`>=`), as `tests::an_entry_expires_at_its_ttl` expects and the reviewer \
                 says.",
            ),
        };
    }
    match calls {
        0 => MockReply::command(
            "sed -i -e '/let _ = now;/d' -e 's/self.entries.len()/self.entries.values().filter(|(at, _)| now.duration_since(*at) < self.ttl).count()/' src/lib.rs",
        ),
        _ => MockReply::text(
            "`Cache::live` counted every entry, expired ones too; it now counts the entries \
             younger than the ttl at `now`, as `tests::live_counts_entries_that_have_not_expired` \
             expects.",
        ),
    }
}

/// `audit-crate` and its part `parts/verify.yaml`: survey, test, summary, notes, report.
fn audit(request: &MockRequest) -> MockReply {
    let text = prompt(request);
    let calls = calls_so_far(request);
    if text.starts_with("List the public items") {
        return match calls {
            0 => MockReply::command("cat src/lib.rs src/shapes.rs"),
            _ => MockReply::Json(json!({"items": [
                {"name": "Shape", "kind": "trait", "documented": true},
                {"name": "total_area", "kind": "fn", "documented": true},
                {"name": "Point", "kind": "struct", "documented": true},
                {"name": "Circle", "kind": "struct", "documented": true},
                {"name": "Rect", "kind": "struct", "documented": true}
            ]})),
        };
    }
    if text.starts_with("Run `cargo test") {
        return match calls {
            0 => MockReply::command("cargo test '' 2>&1 | grep 'test result'"),
            _ => MockReply::Json(json!({"passed": 4, "failed": 0})),
        };
    }
    if text.starts_with("In one sentence") {
        return MockReply::text(
            "Yes: all 4 tests pass and every one of the 5 public items is documented.",
        );
    }
    if text.starts_with("Write these findings") {
        return match calls {
            0 => MockReply::command(
                "cat > \"$WEFT_RUN_DIR/findings.md\" <<'EOF'\n\
                 F1. `Shape` (trait): documented (src/shapes.rs:6)\n\
                 F2. `total_area` (fn): documented (src/shapes.rs:14)\n\
                 F3. `Point` (struct): documented (src/shapes.rs:20)\n\
                 F4. `Circle` (struct): documented (src/shapes.rs:39)\n\
                 F5. `Rect` (struct): documented (src/shapes.rs:63)\n\
                 F6. verification: 4 tests passed, 0 failed\n\
                 EOF",
            ),
            _ => MockReply::text("Wrote 6 findings to findings.md in the run's directory."),
        };
    }
    match calls {
        0 => MockReply::command("cat \"$WEFT_RUN_DIR/findings.md\""),
        _ => MockReply::text(
            "Ready to release: the five public items (`Shape`, `total_area`, `Point`, `Circle`, \
             `Rect`) are all documented (src/shapes.rs:6-63), and all 4 tests pass. \
             Nothing blocks the release.",
        ),
    }
}
