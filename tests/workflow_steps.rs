//! Scripts, loops and gates in the workflow file: what `weft validate` says about them
//! (exact locations and messages), what the type-check knows of their results, and how
//! `weft plan` shows them.

use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::json;
use weft::plan::{Format, load_str, render};
use weft::template::Renderer;

/// `(line, column, message)` of every problem of `yaml`: the loader's and planner's, else
/// the type-check's errors and warnings.
fn problems(yaml: &str) -> Vec<(usize, usize, String)> {
    match load_str("w.yaml", yaml, Path::new(".")) {
        Err(e) => e
            .to_json()
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect(),
        Ok((workflow, _)) => {
            let renderer = Renderer::new();
            weft::typing::check(&workflow, renderer.environment())
                .0
                .iter()
                .map(|d| {
                    let j = d.to_json(&workflow.source);
                    (j.line, j.column, j.message)
                })
                .collect()
        }
    }
}

fn at(line: usize, column: usize, message: &str) -> (usize, usize, String) {
    (line, column, message.to_string())
}

#[test]
fn a_script_is_never_a_template_and_the_error_points_to_env() {
    let yaml = "inputs:\n  base: { type: string }\nsteps:\n  diff:\n    run: git diff {{ inputs.base }}...HEAD\n";
    let err = match load_str("w.yaml", yaml, Path::new(".")) {
        Err(e) => e.render(),
        Ok(_) => panic!("accepted a template in `run`"),
    };
    assert_eq!(
        err,
        "error: `run` is not a template: weft never puts values into a script\n \
         --> w.yaml:5:19\n  |\n5 |     run: git diff {{ inputs.base }}...HEAD\n  |                   ^^\n  \
         = help: pass values as environment variables: `env: { NAME: \"{{ inputs.x }}\" }`, \
         and read \"$NAME\" in the script, so no input or model output is ever run as shell\n"
    );
    let block = "steps:\n  t:\n    prompt: p\n    loop:\n      max_iterations: 2\n      until_run: |\n        test -f done\n        echo {% if x %}\n";
    assert_eq!(
        problems(block),
        vec![at(
            8,
            14,
            "`until_run` is not a template: weft never puts values into a script"
        )]
    );
}

#[test]
fn a_step_is_one_kind_and_keys_of_other_kinds_are_errors() {
    let yaml = "steps:\n  a:\n    prompt: p\n    run: echo hi\n  b:\n    run: ls\n    model: gpt-5\n    sandbox: read-only\n  c:\n    gate: Go?\n    retries: 2\n  d:\n    prompt: p\n    env: { X: y }\n    output: lines\n  e:\n    description: nothing to do\n";
    assert_eq!(
        problems(yaml),
        vec![
            at(4, 10, "step `a` sets both `prompt` and `run`"),
            at(7, 5, "`model` does not apply to a script step"),
            at(8, 5, "`sandbox` does not apply to a script step"),
            at(11, 5, "`retries` does not apply to a gate step"),
            at(
                14,
                10,
                "`env` only applies to a script step or a loop's `until_run`"
            ),
            at(15, 13, "`output` only applies to a script step"),
            at(16, 3, "step `e` has no `prompt`"),
        ]
    );
    let shells = "steps:\n  a:\n    run: ls\n    shell: 3\n  b:\n    prompt: p\n    shell: sh\n";
    assert_eq!(
        problems(shells),
        vec![
            at(
                4,
                12,
                "`shell` must be a program name or a non-empty list of arguments, found an integer"
            ),
            at(
                7,
                12,
                "`shell` only applies to a script step or `until_run`"
            ),
        ]
    );
    let misspelled = "steps:\n  a:\n    rnu: ls\n";
    assert_eq!(
        problems(misspelled),
        vec![at(3, 5, "unknown key `rnu`; did you mean `run`?")],
        "no `has no prompt` beside the misspelling"
    );
}

#[test]
fn loops_end_and_fit_their_step() {
    let yaml = "threads:\n  main: {}\nsteps:\n  a:\n    prompt: p\n    loop: { max_iterations: 3 }\n  b:\n    run: ls\n    loop: { max_iterations: 2, until: 'true', until_run: ls }\n  c:\n    thread: main\n    prompt: p\n    loop: { max_iterations: 2, until: 'true', thread: fresh }\n  d:\n    gate: Go?\n    loop: { max_iterations: 2, until: 'true' }\n  e:\n    run: ls\n    loop: { max_iterations: 0, until: 'true', thread: same }\n";
    assert_eq!(
        problems(yaml),
        vec![
            at(6, 5, "the `loop` of step `a` never ends"),
            at(9, 58, "a `loop` sets both `until` and `until_run`"),
            at(
                13,
                55,
                "`loop.thread: fresh` needs a new thread per iteration, but the step continues one thread"
            ),
            at(16, 11, "a gate cannot `loop`"),
            at(19, 29, "`max_iterations` must be at least 1, found 0"),
            at(19, 55, "a script has no thread: remove `loop.thread`"),
        ]
    );
}

#[test]
fn iteration_and_results_of_each_kind_are_typed() {
    let yaml = r#"steps:
  tests:
    run: cargo test
    output: lines
  fix:
    prompt: "Fix {{ steps.tests.output | join(', ') }}, try {{ iteration.numbr }}; {{ iteration.previous }}"
    loop: { max_iterations: 3, until: "output.done", until_run: x }
  count:
    run: echo 1
    output: json
    output_schema: { type: object, required: [n], properties: { n: { type: integer } } }
    loop: { max_iterations: 3, until: "output.m > 2" }
  ship:
    gate: "Ship after {{ steps.count.iterations | length }}, {{ steps.tests.exit_code }}?"
  after:
    prompt: "{{ steps.ship.output.approved }} {{ steps.ship.output.reply }} {{ steps.fix.exit_code }} {{ iteration }}"
"#;
    assert_eq!(
        problems(yaml),
        vec![
            at(
                6,
                64,
                "unknown field `iteration.numbr`; did you mean `number`?"
            ),
            at(7, 65, "a `loop` sets both `until` and `until_run`"),
            at(16, 106, "`iteration` is only defined in a step with `loop`"),
        ],
        "the loader's checks come first"
    );
    let yaml = yaml
        .replace(", until_run: x", "")
        .replace("iteration.numbr", "iteration.number")
        .replace(" {{ iteration }}", "");
    assert_eq!(
        problems(&yaml),
        vec![
            at(
                7,
                40,
                "`output` is a string or none; it has no property `done`"
            ),
            at(12, 40, "`output` has no property `m`"),
            at(16, 80, "`steps.fix` has no property `exit_code`"),
        ]
    );
}

#[test]
fn plan_shows_what_each_kind_runs() {
    let yaml = r#"name: kinds
steps:
  diff:
    run: git diff --unified=0 "$BASE"...HEAD
    env: { BASE: main }
    output: lines
    timeout: 30s
  fix:
    sandbox: workspace-write
    prompt: Fix it.
    loop: { max_iterations: 5, until_run: cargo test -q }
  ship:
    needs: [fix]
    gate: Apply this plan?
"#;
    let (workflow, plan) = load_str("w.yaml", yaml, Path::new(".")).expect("valid");
    let text = render(&plan, &workflow, Format::Text);
    assert!(
        text.contains(
            "  diff\n    needs     -\n    run       git diff --unified=0 \"$BASE\"...HEAD (bash)\n    \
             output    lines\n    env       BASE\n    policies  timeout 30s, retries 0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "    loop      until `cargo test -q` exits 0, at most 5 iterations, thread same\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  ship *\n    needs     fix\n    gate      Apply this plan?\n    policies  -\n"
        ),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render(&plan, &workflow, Format::Json)).expect("json");
    let steps = json["steps"].as_array().expect("steps");
    assert_eq!(steps[0]["kind"], "script");
    assert_eq!(steps[0]["env"], json!({"BASE": "main"}));
    assert_eq!(steps[1]["loop"]["until_run"], "cargo test -q");
    assert_eq!(steps[2]["gate"], "Apply this plan?");
    let mermaid = render(&plan, &workflow, Format::Mermaid);
    assert!(
        mermaid.contains("step_diff[\"diff<br/>script\"]"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("step_ship[\"ship<br/>gate\"]"),
        "{mermaid}"
    );
}
