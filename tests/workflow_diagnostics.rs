//! Every diagnostic kind of the workflow loader (the file's checks and the planner's, as
//! `weft validate` runs them): exact location, message and caret.

use std::path::Path;

use pretty_assertions::assert_eq;
use weft::plan::load_str;
use weft::workflow::LoadError;

/// Load `yaml` (as `w.yaml`, schema paths under `dir`) and return its rendered diagnostics.
fn render_in(dir: &Path, yaml: &str) -> String {
    match load_str("w.yaml", yaml, dir) {
        Ok(_) => String::new(),
        Err(e) => e.render(),
    }
}

fn render(yaml: &str) -> String {
    render_in(Path::new("."), yaml)
}

/// `(line, column, message)` of each diagnostic.
fn errors(yaml: &str) -> Vec<(usize, usize, String)> {
    match load_str("w.yaml", yaml, Path::new(".")) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .to_json()
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect(),
    }
}

fn one(line: usize, column: usize, message: &str) -> Vec<(usize, usize, String)> {
    vec![(line, column, message.to_string())]
}

#[test]
fn unknown_key_shows_the_line_a_caret_and_the_fix() {
    let yaml = "steps:\n  hello:\n    promt: Say hello.\n    prompt: x\n";
    assert_eq!(
        render(yaml),
        "error: unknown key `promt`; did you mean `prompt`?\n --> w.yaml:3:5\n  |\n3 |     promt: Say hello.\n  |     ^^^^^\n"
    );
}

#[test]
fn unknown_keys_at_every_level() {
    let yaml = "nmae: x\ndefaults:\n  sandbx: read-only\nsteps:\n  a:\n    prompt: p\n    approvals: { command: [ls] }\n";
    assert_eq!(
        errors(yaml),
        vec![
            (1, 1, "unknown key `nmae`; did you mean `name`?".into()),
            (3, 3, "unknown key `sandbx`; did you mean `sandbox`?".into()),
            (
                7,
                18,
                "unknown key `command`; did you mean `commands`?".into()
            ),
        ]
    );
}

#[test]
fn habits_from_other_tools_get_a_hint() {
    let yaml = "steps:\n  a: { prompt: p }\n  b: { prompt: q, depends_on: [a] }\n";
    assert_eq!(
        errors(yaml),
        one(3, 19, "unknown key `depends_on`; did you mean `needs`?")
    );
}

#[test]
fn needs_naming_a_missing_step() {
    let yaml = "steps:\n  survey: { prompt: s }\n  plan:\n    needs: [sruvey]\n    prompt: p\n";
    assert_eq!(
        render(yaml),
        "error: step `plan` needs unknown step `sruvey`; did you mean `survey`?\n --> w.yaml:4:13\n  |\n4 |     needs: [sruvey]\n  |             ^^^^^^\n"
    );
}

#[test]
fn cycles_print_their_path() {
    let yaml = "steps:\n  a:\n    needs: [c]\n    prompt: A\n  b:\n    prompt: B {{ steps.a.output }}\n  c:\n    needs: [b]\n    prompt: C\n";
    assert_eq!(
        errors(yaml),
        one(3, 13, "dependency cycle: `a` → `c` → `b` → `a`")
    );
}

#[test]
fn duplicate_step_ids() {
    let yaml = "steps:\n  a: { prompt: one }\n  a: { prompt: two }\n";
    assert_eq!(
        render(yaml),
        "error: duplicate step id `a`\n --> w.yaml:3:3\n  |\n3 |   a: { prompt: two }\n  |   ^\n  = help: `a` is first defined on line 2; rename or remove one\n"
    );
}

#[test]
fn template_syntax_errors_point_into_a_multi_line_prompt() {
    let yaml = "steps:\n  a:\n    prompt: |\n      line one\n      line two {{ foo( }}\n      line three\n";
    assert_eq!(
        render(yaml),
        "error: syntax error in `prompt` of step `a`: unexpected `}`\n --> w.yaml:5:24\n  |\n5 |       line two {{ foo( }}\n  |                        ^\n"
    );
}

#[test]
fn references_to_steps_that_do_not_exist_or_are_the_step_itself() {
    let yaml =
        "steps:\n  a:\n    prompt: |\n      {{ steps.b.output }}\n      {{ steps.a.status }}\n";
    assert_eq!(
        errors(yaml),
        vec![
            (4, 10, "unknown step `b`".into()),
            (5, 10, "step `a` cannot read its own result".into()),
        ]
    );
}

#[test]
fn undeclared_inputs_and_unknown_variables() {
    let yaml = "inputs:\n  module: { type: string }\nsteps:\n  a:\n    prompt: \"{{ inputs.modul }} {{ item }}\"\n";
    assert_eq!(
        errors(yaml),
        vec![
            (
                5,
                17,
                "unknown input `modul`; did you mean `module`?".into()
            ),
            (5, 36, "unknown variable `item`".into()),
        ]
    );
}

#[test]
fn env_needs_the_allow_list_and_loop_needs_for_each() {
    let yaml =
        "env: [CI]\nsteps:\n  a:\n    prompt: \"{{ env.CI }} {{ env.HOME }} {{ loop.index }}\"\n";
    assert_eq!(
        errors(yaml),
        vec![
            (
                4,
                30,
                "environment variable `HOME` is not in the `env` allow-list".into()
            ),
            (
                4,
                45,
                "`loop` is only defined in the prompt of a step with `for_each`".into()
            ),
        ]
    );
}

#[test]
fn for_each_and_if_must_compile() {
    let yaml = "steps:\n  a:\n    for_each: \"[1, 2\"\n    if: \"1 >\"\n    prompt: \"{{ item }} {{ loop.index }}\"\n";
    let found = errors(yaml);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[0].0, found[1].0), (3, 4));
    assert!(
        found[0]
            .2
            .starts_with("syntax error in `for_each` of step `a`: "),
        "{found:?}"
    );
    assert!(
        found[1].2.starts_with("syntax error in `if` of step `a`: "),
        "{found:?}"
    );
}

#[test]
fn output_schemas_must_be_json_schema_and_files_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.json"), "{ not json").unwrap();
    let yaml = "steps:\n  a:\n    prompt: p\n    output_schema: { type: objekt }\n  b:\n    prompt: p\n    output_schema: missing.json\n  c:\n    prompt: p\n    output_schema: bad.json\n";
    let text = render_in(dir.path(), yaml);
    assert!(
        text.contains("error: `output_schema` of step `a` is not a valid json schema"),
        "{text}"
    );
    assert!(text.contains(" --> w.yaml:4:28\n"), "{text}");
    assert!(
        text.contains(
            "error: cannot read schema file `missing.json`: no such file\n --> w.yaml:7:20\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("error: schema file `bad.json` is not valid json: "),
        "{text}"
    );
}

#[test]
fn durations_policies_and_sandbox_values() {
    let yaml = "defaults:\n  timeout: 10 minutes\n  approval: on-failure\n  sandbox: workspace_write\n  effort: extreme\nsteps:\n  a: { prompt: p, timeout: 90 }\n";
    assert_eq!(
        errors(yaml),
        vec![
            (2, 12, "invalid duration `10 minutes`".into()),
            (
                3,
                13,
                "invalid approval `on-failure`; did you mean `on-request`?".into()
            ),
            (
                4,
                12,
                "invalid sandbox `workspace_write`; did you mean `workspace-write`?".into()
            ),
            (5, 11, "invalid effort `extreme`".into()),
            (7, 28, "invalid duration `90`".into()),
        ]
    );
}

#[test]
fn on_failure_explains_that_it_was_removed() {
    let text = render("defaults: { approval: on-failure }\nsteps:\n  a: { prompt: p }\n");
    assert!(
        text.contains("= help: `on-failure` was removed from the app-server protocol"),
        "{text}"
    );
}

#[test]
fn max_parallel_zero() {
    let yaml =
        "steps:\n  a:\n    for_each: \"[1]\"\n    max_parallel: 0\n    prompt: \"{{ item }}\"\n";
    assert_eq!(
        errors(yaml),
        one(4, 19, "`max_parallel` must be at least 1, found 0")
    );
}

#[test]
fn thread_and_fork_must_name_a_defined_thread() {
    let yaml = "threads:\n  planner: {}\nsteps:\n  a: { prompt: p, thread: plnner }\n  b: { prompt: p, fork: nowhere }\n";
    assert_eq!(
        errors(yaml),
        vec![
            (
                4,
                27,
                "unknown thread `plnner`; did you mean `planner`?".into()
            ),
            (5, 25, "unknown thread `nowhere`".into()),
        ]
    );
}

#[test]
fn a_fork_needs_a_step_of_its_thread_upstream() {
    let yaml =
        "threads:\n  t: {}\nsteps:\n  a: { prompt: p, thread: t }\n  b: { prompt: p, fork: t }\n";
    assert_eq!(
        errors(yaml),
        one(
            5,
            25,
            "step `b` forks thread `t` before any of its steps has run"
        )
    );
}

#[test]
fn one_thread_key_per_step() {
    let yaml = "threads:\n  t: {}\nsteps:\n  a: { prompt: p, thread: t, fork: t }\n";
    assert_eq!(
        errors(yaml),
        one(4, 36, "step `a` sets both `thread` and `fork`")
    );
}

#[test]
fn a_misspelled_prompt_is_one_error_not_two() {
    let yaml = "steps:\n  a:\n    promt: p\n";
    assert_eq!(
        errors(yaml),
        one(3, 5, "unknown key `promt`; did you mean `prompt`?")
    );
}

#[test]
fn a_step_with_no_prompt() {
    let yaml = "steps:\n  survey:\n    needs: [other]\n";
    assert_eq!(
        errors(yaml),
        vec![
            (2, 3, "step `survey` has no `prompt`".into()),
            (3, 13, "step `survey` needs unknown step `other`".into()),
        ]
    );
}

#[test]
fn input_defaults_must_match_their_type() {
    let yaml = "inputs:\n  n: { type: integer, default: three }\n  level: { type: enum, values: [low, high], default: mid }\nsteps:\n  a: { prompt: p }\n";
    assert_eq!(
        errors(yaml),
        vec![
            (
                2,
                32,
                "default of input `n` is `three`, not a value of type `integer`".into()
            ),
            (
                3,
                54,
                "default of input `level` is `mid`, not one of `low`, `high`".into()
            ),
        ]
    );
}

#[test]
fn names_must_be_identifiers() {
    let yaml = "steps:\n  split-module: { prompt: p }\n";
    let text = render(yaml);
    assert!(
        text.starts_with("error: invalid step id `split-module`\n --> w.yaml:2:3\n"),
        "{text}"
    );
    assert!(text.contains("e.g. `split_module`"), "{text}");
}

#[test]
fn a_yaml_syntax_error_stops_the_file() {
    let yaml = "steps:\n  a:\n    prompt: [unclosed\n  b: { promt: x }\n";
    let found = errors(yaml);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.starts_with("invalid yaml: "), "{found:?}");
}

#[test]
fn all_semantic_errors_come_at_once() {
    let yaml = "steps:\n  a: { prompt: \"{{ steps.x.output }}\", needs: [y] }\n  b: { prompt: p, thread: z }\n";
    assert_eq!(errors(yaml).len(), 3);
}

#[test]
fn unreadable_files_are_an_error_not_a_panic() {
    let error = weft::plan::load("/nonexistent/w.yaml").unwrap_err();
    assert!(matches!(error, LoadError::Read { .. }));
    assert!(
        error
            .render()
            .starts_with("error: cannot read `/nonexistent/w.yaml`: ")
    );
}

#[test]
fn fail_if_reads_the_step_output_but_not_loop_or_unknown_names() {
    let ok = "steps:\n  r:\n    prompt: x\n    fail_if: output.errors > 0\n";
    assert_eq!(errors(ok), Vec::new());
    let bad = "steps:\n  r:\n    prompt: x\n    fail_if: loop.index > 0 or outptu\n";
    let messages: Vec<String> = errors(bad).into_iter().map(|(_, _, m)| m).collect();
    assert_eq!(
        messages,
        vec![
            "`loop` is only defined in the prompt of a step with `for_each`".to_string(),
            "unknown variable `outptu`; did you mean `output`?".to_string(),
        ]
    );
}

#[test]
fn an_empty_file_says_so_and_that_a_workflow_needs_steps() {
    for yaml in ["", "\n\n", "# just a comment\n", "---\n"] {
        assert_eq!(
            render(yaml).lines().next(),
            Some("error: the file is empty; a workflow needs `steps`"),
            "{yaml:?}"
        );
    }
}

#[test]
fn a_tab_in_indentation_is_reported_on_its_own_line() {
    let yaml = "steps:\n  a:\n    prompt: hi\n\tneeds: []\n";
    assert_eq!(
        render(yaml),
        "error: a tab in indentation\n --> w.yaml:4:1\n  |\n4 | \tneeds: []\n  | ^\n  = help: yaml indents with spaces only; replace the tab with spaces\n"
    );
}

#[test]
fn did_you_mean_only_when_the_suggestion_is_close() {
    let far = "steps:\n  a:\n    prompt: hi\n    bash: ls\n";
    assert_eq!(errors(far), one(4, 5, "unknown key `bash`"));
    let near = "steps:\n  a:\n    prompt: hi\n    nedes: []\n";
    assert_eq!(
        errors(near),
        one(4, 5, "unknown key `nedes`; did you mean `needs`?")
    );
}

#[test]
fn isolation_and_writes_take_their_values_and_relative_patterns() {
    let yaml =
        "defaults:\n  isolation: worktre\nsteps:\n  a:\n    writes: [/etc/**]\n    prompt: p\n";
    let found = errors(yaml);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (2, 14));
    assert!(found[0].2.contains("`worktre`"), "{found:?}");
    assert_eq!(
        found[1],
        (
            5,
            13,
            "`writes` pattern `/etc/**` of step `a` is absolute".into()
        )
    );
}

#[test]
fn on_conflict_names_a_repair_step_of_an_isolated_step() {
    let yaml = "steps:\n  a:\n    for_each: '[1]'\n    on_conflict: fixx\n    prompt: p\n  fix:\n    prompt: q\n";
    assert_eq!(
        errors(yaml),
        one(
            4,
            18,
            "`on_conflict` of step `a` names unknown step `fixx`; did you mean `fix`?"
        )
    );
    let yaml = "steps:\n  a:\n    on_conflict: fix\n    prompt: p\n  fix:\n    prompt: q\n";
    assert_eq!(
        errors(yaml),
        one(
            3,
            18,
            "`on_conflict` of step `a` needs `isolation: worktree`"
        )
    );
    let yaml = "defaults: { isolation: worktree }\nsteps:\n  a:\n    on_conflict: fix\n    prompt: p\n  fix:\n    for_each: '[1]'\n    prompt: q\n";
    assert_eq!(
        errors(yaml),
        one(7, 15, "repair step `fix` cannot have `for_each`")
    );
}

#[test]
fn nothing_waits_for_a_repair_step_and_it_waits_only_for_what_its_step_does() {
    let yaml = "defaults: { isolation: worktree }\nsteps:\n  a:\n    on_conflict: fix\n    prompt: p\n  b:\n    prompt: b\n  fix:\n    needs: [b]\n    prompt: q\n  after:\n    needs: [fix]\n    prompt: r\n";
    assert_eq!(
        errors(yaml),
        vec![
            (9, 13, "repair step `fix` waits for `b`, which `a` does not wait for".into()),
            (12, 13, "step `after` waits for repair step `fix`, which runs only when the patches of `a` conflict".into()),
        ]
    );
}

#[test]
fn conflict_is_only_defined_in_a_repair_steps_prompt() {
    let yaml = "steps:\n  a:\n    prompt: '{{ conflict.files }}'\n";
    assert_eq!(
        errors(yaml),
        one(
            3,
            17,
            "`conflict` is only defined in the prompt of a repair step"
        )
    );
}

#[test]
fn environment_values_are_checked_with_a_suggestion() {
    let yaml = "defaults:\n  environment: snapshots\nthreads:\n  t: { environment: plain }\nsteps:\n  a: { prompt: p, environment: Plain }\n";
    assert_eq!(
        errors(yaml),
        vec![
            (
                2,
                16,
                "invalid environment `snapshots`; did you mean `snapshot`?".into()
            ),
            (
                6,
                32,
                "invalid environment `Plain`; did you mean `plain`?".into()
            ),
        ]
    );
}
