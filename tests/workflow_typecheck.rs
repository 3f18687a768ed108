//! The type-check of templates and expressions: every diagnostic kind with its exact
//! location and message, what stays silent, spans inside every kind of YAML scalar, the
//! render with sample values, the strict-mode lint, and `weft validate` on whole files.

use std::path::Path;
use std::process::Command;

use pretty_assertions::assert_eq;
use weft::template::Renderer;
use weft::workflow::{Severity, load_str};

/// `(line, column, severity, message)` of every diagnostic of `yaml` (loaded as `w.yaml`
/// under `dir`): the loader's, then the type-check's against the engine's environment.
fn found_in(dir: &Path, yaml: &str) -> Vec<(usize, usize, &'static str, String)> {
    let workflow = match load_str("w.yaml", yaml, dir) {
        Ok(w) => w,
        Err(e) => panic!("the loader rejected it:\n{}", e.render()),
    };
    let renderer = Renderer::new();
    let diagnostics = weft::typing::check(&workflow, renderer.environment());
    diagnostics
        .0
        .iter()
        .map(|d| {
            let json = d.to_json(&workflow.source);
            let severity = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            (json.line, json.column, severity, json.message)
        })
        .collect()
}

fn found(yaml: &str) -> Vec<(usize, usize, &'static str, String)> {
    found_in(Path::new("."), yaml)
}

fn error(line: usize, column: usize, message: &str) -> (usize, usize, &'static str, String) {
    (line, column, "error", message.to_string())
}

fn warning(line: usize, column: usize, message: &str) -> (usize, usize, &'static str, String) {
    (line, column, "warning", message.to_string())
}

/// Rendered diagnostics, as `weft validate` prints them.
fn rendered(yaml: &str) -> String {
    let workflow = load_str("w.yaml", yaml, Path::new(".")).unwrap();
    let renderer = Renderer::new();
    weft::typing::check(&workflow, renderer.environment()).render(&workflow.source)
}

const SURVEY: &str = "inputs:\n  module: { type: string }\nsteps:\n  survey:\n    prompt: List {{ inputs.module }}.\n    output_schema:\n      type: object\n      required: [items]\n      properties:\n        items: { type: array, items: { type: object, required: [name, kind], properties: { name: { type: string }, kind: { enum: [fn, struct] }, note: { type: string } } } }\n";

fn with_survey(step: &str) -> String {
    format!("{SURVEY}  next:\n{step}")
}

#[test]
fn an_unknown_property_of_an_upstream_output_with_did_you_mean() {
    let yaml = with_survey("    prompt: \"{{ steps.survey.output.itemz | length }} items\"\n");
    assert_eq!(
        rendered(&yaml),
        "error: `steps.survey.output` has no property `itemz`; did you mean `items`?\n  --> w.yaml:12:17\n   |\n12 |     prompt: \"{{ steps.survey.output.itemz | length }} items\"\n   |                 ^^^^^^^^^^^^^^^^^^^^^^^^^\n   = help: `steps.survey.output` has `items`\n"
    );
}

#[test]
fn properties_of_elements_and_of_scalars() {
    let yaml = with_survey(
        "    prompt: |\n      {% for it in steps.survey.output.items %}{{ it.nme }}{% endfor %}\n      {{ inputs.module.name }} {{ steps.survey.output.items.name }}\n",
    );
    assert_eq!(
        found(&yaml),
        vec![
            error(13, 51, "`it` has no property `nme`; did you mean `name`?"),
            error(
                14,
                10,
                "`inputs.module` is a string; it has no property `name`"
            ),
            error(
                14,
                35,
                "`steps.survey.output.items` is an array; it has no property `name`"
            ),
        ]
    );
}

#[test]
fn for_each_over_a_non_array_and_for_over_a_number() {
    let yaml = "inputs:\n  module: { type: string }\n  n: { type: integer, default: 2 }\nsteps:\n  a:\n    for_each: inputs.module\n    prompt: \"{{ item }}{% for x in inputs.n %}{{ x }}{% endfor %}\"\n";
    assert_eq!(
        found(yaml),
        vec![
            error(
                6,
                15,
                "`for_each` needs an array, but `inputs.module` is a string"
            ),
            error(
                7,
                36,
                "`{% for %}` needs an array, but `inputs.n` is an integer"
            ),
        ]
    );
}

#[test]
fn comparing_an_enum_with_a_value_it_cannot_take() {
    let yaml = with_survey(
        "    if: steps.survey.status == 'completed' or steps.survey.status != 'skiped'\n    prompt: \"{{ 'x' if steps.survey.output.items[0].kind in ['fn', 'function'] }}\"\n",
    );
    assert_eq!(
        found(&yaml),
        vec![
            error(
                12,
                32,
                "`steps.survey.status` is never `completed`: it is one of `succeeded`, `failed`, `skipped`, `interrupted`"
            ),
            error(
                12,
                70,
                "`steps.survey.status` is never `skiped`: it is one of `succeeded`, `failed`, `skipped`, `interrupted`; did you mean `skipped`?"
            ),
            error(
                13,
                68,
                "`steps.survey.output.items[0].kind` is never `function`: it is one of `fn`, `struct`"
            ),
        ]
    );
}

#[test]
fn comparing_values_of_different_kinds() {
    let yaml =
        "inputs:\n  n: { type: integer }\nsteps:\n  a:\n    if: inputs.n == '3'\n    prompt: p\n";
    assert_eq!(
        found(yaml),
        vec![error(
            5,
            21,
            "`inputs.n` is an integer; it is never the string `3`"
        )]
    );
}

#[test]
fn unknown_filters_tests_functions_and_methods() {
    let yaml = "inputs:\n  s: { type: string }\nsteps:\n  a:\n    prompt: \"{{ inputs.s | lenght }} {{ inputs.s is strin }} {{ inputs.s.upper() }} {{ inputs.s | tojson }}\"\n";
    assert_eq!(
        found(yaml),
        vec![
            error(5, 28, "unknown filter `lenght`; did you mean `length`?"),
            error(5, 53, "unknown test `strin`; did you mean `string`?"),
            error(
                5,
                65,
                "`inputs.s` is a string, which has no methods: `upper()` fails"
            ),
        ]
    );
    let unknown_function =
        "steps:\n  a:\n    prompt: \"{{ rnage(3) }} {{ range(3) | join(',') }}\"\n";
    let error = load_str("w.yaml", unknown_function, Path::new(".")).unwrap_err();
    assert_eq!(
        error.to_json()[0].message,
        "unknown function `rnage`; did you mean `range`?"
    );
}

#[test]
fn an_include_of_a_template_that_does_not_exist() {
    let yaml =
        "steps:\n  a:\n    prompt: |\n      Intro.\n      {% include 'prompts/rules.md' %}\n";
    let error = load_str("w.yaml", yaml, Path::new(".")).unwrap_err();
    let found: Vec<(usize, usize, String)> = error
        .to_json()
        .into_iter()
        .map(|d| (d.line, d.column, d.message))
        .collect();
    assert_eq!(
        found,
        vec![(
            5,
            18,
            "included template `prompts/rules.md` does not exist (looked for `prompts/rules.md`)"
                .to_string()
        )]
    );
}

#[test]
fn an_optional_property_read_without_a_default_is_a_warning() {
    let yaml = with_survey(
        "    prompt: |\n      {% for it in steps.survey.output.items %}{{ it.note }}{% endfor %}\n      {% for it in steps.survey.output.items %}{{ it.note | default('-') }}{% endfor %}\n      {% for it in steps.survey.output.items %}{% if it.note is defined %}{{ it.note }}{% endif %}{{ it.note is defined and it.note }}{% endfor %}\n",
    );
    assert_eq!(
        found(&yaml),
        vec![warning(
            13,
            51,
            "`it.note` is optional and is read without a default"
        )]
    );
}

#[test]
fn open_or_absent_schemas_stay_silent() {
    let yaml = "inputs:\n  cfg: { type: object }\n  list: { type: array }\nsteps:\n  a:\n    prompt: p\n    output_schema: { type: object }\n  b:\n    prompt: p\n    output_schema: {}\n  c:\n    prompt: \"{{ steps.a.output.anything.deeper }} {{ steps.b.output.x }} {{ inputs.cfg.k + 1 }} {{ inputs.list[7].name }}\"\n";
    let type_errors: Vec<_> = found(yaml)
        .into_iter()
        .filter(|(_, _, _, m)| !m.starts_with("`output_schema`"))
        .collect();
    assert_eq!(type_errors, vec![]);
}

#[test]
fn a_step_without_a_schema_outputs_text() {
    let yaml = "steps:\n  a: { prompt: p }\n  b:\n    prompt: \"{{ steps.a.output.items }}\"\n    fail_if: output.errors > 0\n";
    assert_eq!(
        found(yaml),
        vec![
            error(
                4,
                17,
                "`steps.a.output` is a string or none; it has no property `items`"
            ),
            error(
                5,
                14,
                "`output` is a string or none; it has no property `errors`"
            ),
        ]
    );
}

#[test]
fn spans_land_inside_literal_folded_and_quoted_scalars() {
    let yaml = "inputs:\n  m: { type: string }\nsteps:\n  lit:\n    prompt: |\n      one\n        two {{ inputs.m.x }}\n  fold:\n    prompt: >-\n      one\n      two {{ inputs.m.y }}\n  dq:\n    prompt: \"say \\\"hi\\\"\\n {{ inputs.m.z }}\"\n  sq:\n    prompt: 'it''s {{ inputs.m.w }}'\n  plain:\n    prompt: one\n      two {{ inputs.m.v }}\n";
    let positions: Vec<(usize, usize)> =
        found(yaml).into_iter().map(|(l, c, _, _)| (l, c)).collect();
    assert_eq!(
        positions,
        vec![(7, 16), (11, 14), (13, 30), (15, 23), (18, 14)]
    );
}

#[test]
fn every_template_is_rendered_once_with_sample_values() {
    let yaml = "inputs:\n  max: { type: integer, default: 3 }\nsteps:\n  a:\n    prompt: \"at most {{ inputs.max + ' findings' }}\"\n";
    assert_eq!(
        rendered(yaml),
        "error: `prompt` of step `a` fails to render: tried to use + operator on unsupported types number and string\n --> w.yaml:5:25\n  |\n5 |     prompt: \"at most {{ inputs.max + ' findings' }}\"\n  |                         ^^^^^^^^^^^^^^^^^^^^^^^^\n  = help: found by rendering it with sample values: input defaults, and values that fit the upstream output schemas\n"
    );
    let fan_out = with_survey(
        "    for_each: steps.survey.output.items\n    as: it\n    prompt: \"{{ it.name }} {{ loop.index }} {{ it.kind | join(1, 2) }}\"\n",
    );
    assert_eq!(
        found(&fan_out),
        vec![error(
            14,
            58,
            "`prompt` of step `next` fails to render: value is not a string"
        )]
    );
}

#[test]
fn workflow_outputs_and_resume_templates_are_checked_too() {
    let yaml = "inputs:\n  t: { type: string, required: false }\nsteps:\n  a:\n    resume: \"{{ inputs.t.id }}\"\n    prompt: p\noutputs:\n  about: \"{{ workflow.description }}\"\n";
    assert_eq!(
        found(yaml),
        vec![
            error(
                5,
                17,
                "`inputs.t` is a string or none; it has no property `id`"
            ),
            error(8, 14, "`workflow` has no property `description`"),
        ]
    );
}

#[test]
fn strict_mode_lint_of_output_schemas() {
    let yaml = "steps:\n  a:\n    prompt: p\n    output_schema:\n      type: object\n      properties:\n        name: { type: string, maxLength: 9 }\n        tags: { type: array, uniqueItems: true, items: { type: string } }\n      additionalProperties: true\n  b:\n    prompt: p\n    output_schema: { type: array, items: { type: string } }\n";
    let messages = found(yaml);
    assert_eq!(
        messages,
        vec![
            warning(
                7,
                31,
                "`output_schema` of step `a` uses `maxLength`, which openai's strict mode does not accept (at `/properties/name`)"
            ),
            warning(
                8,
                30,
                "`output_schema` of step `a` uses `uniqueItems`, which openai's strict mode does not accept (at `/properties/tags`)"
            ),
            warning(
                9,
                7,
                "`output_schema` of step `a` allows additional properties, which openai's strict mode does not (at `/`)"
            ),
            warning(
                12,
                22,
                "`output_schema` of step `b` is not an object at its root, as openai's strict mode requires (at `/`)"
            ),
        ]
    );
}

#[test]
fn the_strict_mode_lint_of_a_schema_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.json"),
        r#"{"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}}"#,
    )
    .unwrap();
    let yaml = "steps:\n  a:\n    prompt: p\n    output_schema: s.json\n";
    assert_eq!(
        found_in(dir.path(), yaml),
        vec![warning(
            4,
            20,
            "`output_schema` of step `a` uses `oneOf`, which openai's strict mode does not accept (at `/properties/x` of `s.json`)"
        )]
    );
}

#[test]
fn the_example_workflows_are_clean() {
    for name in ["hello", "review-diff", "split-module", "triage-failure"] {
        let path = format!("workflows/{name}.yaml");
        let workflow = weft::workflow::load(&path).unwrap();
        let renderer = Renderer::new();
        let diagnostics = weft::typing::check(&workflow, renderer.environment());
        assert!(
            diagnostics.is_empty(),
            "{path}:\n{}",
            diagnostics.render(&workflow.source)
        );
    }
}

/// `weft validate FILE` in `tests/typecheck`: its exit code and stderr.
fn validate(file: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["validate", file])
        .current_dir("tests/typecheck")
        .output()
        .expect("run weft");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_of_three_files_with_type_errors() {
    for file in ["survey.yaml", "review.yaml", "fanout.yaml"] {
        let (code, stderr) = validate(file);
        assert_eq!(code, Some(2), "{stderr}");
        insta::assert_snapshot!(file.trim_end_matches(".yaml"), stderr);
    }
}

#[test]
fn a_repair_steps_prompt_reads_a_typed_conflict() {
    let yaml = "defaults: { isolation: worktree }\nsteps:\n  split:\n    for_each: '[1, 2]'\n    on_conflict: fix\n    prompt: p {{ item }}\n  fix:\n    prompt: \"{{ conflict.filez }} {{ conflict.patches[0].element }} {{ steps.split.output | length }}\"\n";
    assert_eq!(
        found(yaml),
        vec![error(
            8,
            17,
            "`conflict` has no property `filez`; did you mean `files`?"
        )]
    );
    let fine = yaml.replace("filez", "files | join(', ')");
    assert_eq!(found(&fine), vec![]);
}
