//! The loader's diagnostics for what workflows compose: prompt files and included
//! templates (located in those files), sub-workflows (`uses`, `with`, cycles between
//! files), merge keys and `x-` keys, Codex `config`, `network`, `join`, pools, and
//! `model`/`effort` templates; and what `weft plan` shows of them.

use std::path::Path;

use pretty_assertions::assert_eq;
use weft::plan::{Format, load, render};
use weft::template::Renderer;

/// Writes `files` (name, text) under a new directory; its path.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// `(file, line, column, message)` of each diagnostic of `main.yaml` in `dir`, as
/// `weft validate` reports them (the type-check too), file names relative to `dir`.
fn found(dir: &Path) -> Vec<(String, usize, usize, String)> {
    let path = dir.join("main.yaml");
    let renderer = Renderer::new();
    let error = match weft::typing::load(&path, renderer.environment()) {
        Ok(_) => return Vec::new(),
        Err(error) => error,
    };
    error
        .to_json()
        .into_iter()
        .map(|d| {
            let file = Path::new(&d.file)
                .strip_prefix(dir)
                .map_or(d.file.clone(), |p| p.display().to_string());
            (file, d.line, d.column, d.message)
        })
        .collect()
}

fn at(file: &str, line: usize, column: usize, message: &str) -> (String, usize, usize, String) {
    (file.into(), line, column, message.into())
}

#[test]
fn a_prompt_file_is_a_template_whose_errors_point_into_it() {
    let dir = tree(&[
        (
            "main.yaml",
            "steps:\n  review:\n    prompt_file: prompts/review.md\n",
        ),
        (
            "prompts/review.md",
            "Review.\n\nThere are {{ inputs.count }} files.\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at("prompts/review.md", 3, 14, "unknown input `count`")]
    );
}

#[test]
fn an_unreadable_prompt_file_or_both_prompts_are_errors() {
    let dir = tree(&[(
        "main.yaml",
        "steps:\n  a:\n    prompt_file: prompts/missing.md\n  b:\n    prompt: B\n    prompt_file: main.yaml\n  c:\n    description: nothing to say\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![
            at(
                "main.yaml",
                3,
                18,
                "cannot read `prompt_file` of step `a`, `prompts/missing.md`: no such file"
            ),
            at(
                "main.yaml",
                5,
                13,
                "step `b` sets both `prompt` and `prompt_file`"
            ),
            at("main.yaml", 7, 3, "step `c` has no `prompt`"),
        ]
    );
}

#[test]
fn includes_are_read_under_the_workflows_directory_and_checked_in_their_files() {
    let dir = tree(&[
        (
            "flows/main.yaml",
            "steps:\n  a:\n    prompt: |\n      {% include 'parts/intro.md' %}\n      {% include 'parts/none.md' %}\n      {% include '../secret.md' %}\n",
        ),
        (
            "flows/parts/intro.md",
            "Intro.\n{% include 'parts/rules.md' %}\n",
        ),
        (
            "flows/parts/rules.md",
            "Rules:\n  {{ steps.nope.output }} and {% if %}\n",
        ),
        ("secret.md", "secret"),
    ]);
    let flows = dir.path().join("flows");
    assert_eq!(
        found(&flows),
        vec![
            at(
                "main.yaml",
                5,
                18,
                "included template `parts/none.md` does not exist (looked for `parts/none.md`)"
                    .replace(
                        "`parts/none.md`)",
                        &format!("`{}`)", flows.join("parts/none.md").display())
                    )
                    .as_str()
            ),
            at(
                "main.yaml",
                6,
                18,
                &format!(
                    "`../secret.md` is outside `{}`, the workflow file's directory; templates are read from there only",
                    flows.display()
                )
            ),
            at(
                "parts/rules.md",
                2,
                37,
                "syntax error in template `parts/rules.md`: unexpected end of block"
            ),
        ]
    );
}

#[test]
fn what_an_included_template_reads_is_checked_and_typed_in_its_file() {
    let dir = tree(&[
        (
            "main.yaml",
            "inputs:\n  n: { type: integer, default: 2 }\nsteps:\n  a:\n    prompt: |\n      {% set local = 3 %}{% include 'part.md' %}\n",
        ),
        (
            "part.md",
            "{{ local }} {{ steps.nope.output }}\n{% for x in inputs.n %}{{ x }}{% endfor %}\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at("part.md", 1, 16, "unknown step `nope`")]
    );
    let dir = tree(&[
        (
            "main.yaml",
            "inputs:\n  n: { type: integer, default: 2 }\nsteps:\n  a:\n    prompt: \"{% include 'part.md' %}\"\n",
        ),
        (
            "part.md",
            "{{ local | default(1) }}\n{% for x in inputs.n %}{{ x }}{% endfor %}\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at(
            "part.md",
            2,
            13,
            "`{% for %}` needs an array, but `inputs.n` is an integer"
        )]
    );
}

#[test]
fn a_render_error_inside_an_included_template_points_into_it() {
    let dir = tree(&[
        (
            "main.yaml",
            "inputs:\n  n: { type: integer, default: 2 }\nsteps:\n  a:\n    prompt: \"{% include 'part.md' %}\"\n",
        ),
        ("part.md", "Intro\n{{ inputs.n + ' files' }}\n"),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at(
            "part.md",
            2,
            4,
            "`prompt` of step `a` fails to render: tried to use + operator on unsupported types number and string"
        )]
    );
}

#[test]
fn a_cycle_between_files_names_the_chain() {
    let dir = tree(&[
        ("main.yaml", "steps:\n  lint:\n    uses: ./lint.yaml\n"),
        ("lint.yaml", "steps:\n  deeper:\n    uses: sub/fmt.yaml\n"),
        ("sub/fmt.yaml", "steps:\n  back:\n    uses: ../main.yaml\n"),
    ]);
    let main = dir.path().join("main.yaml").display().to_string();
    let found = found(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2),
        ("sub/fmt.yaml", 3, 11)
    );
    assert_eq!(
        found[0].3,
        format!(
            "sub-workflow cycle: `{main}` → `{}` → `{}` → `{}`",
            dir.path().join("lint.yaml").display(),
            dir.path().join("sub/fmt.yaml").display(),
            dir.path().join("main.yaml").display(),
        )
    );
}

#[test]
fn with_must_fit_the_called_workflows_inputs() {
    let dir = tree(&[
        (
            "main.yaml",
            "steps:\n  first:\n    prompt: FIRST\n    output_schema: { type: object, required: [n], properties: { n: { type: integer } } }\n  lint:\n    uses: ./lint.yaml\n    with:\n      targt: x\n      level: 3\n      count: \"{{ steps.first.output.n }}\"\n  other:\n    uses: ./lint.yaml\n    with: { target: t, count: \"{{ steps.first.output }}\" }\n",
        ),
        (
            "lint.yaml",
            "inputs:\n  target: { type: string }\n  level: { type: enum, values: [low, high], default: low }\n  count: { type: string, default: none }\nsteps:\n  check:\n    prompt: \"CHECK {{ inputs.target }}\"\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![
            at(
                "main.yaml",
                6,
                11,
                "step `lint` does not give `./lint.yaml` its required input `target`"
            ),
            at(
                "main.yaml",
                8,
                7,
                "`./lint.yaml` has no input `targt`; did you mean `target`?"
            ),
            at(
                "main.yaml",
                9,
                14,
                "input `level` of `./lint.yaml` is enum, and `3` is not"
            ),
        ]
    );
}

#[test]
fn a_with_template_is_typed_against_the_input() {
    let dir = tree(&[
        (
            "main.yaml",
            "steps:\n  first:\n    prompt: FIRST\n    output_schema: { type: object, required: [n, s], properties: { n: { type: integer }, s: { type: string } } }\n  lint:\n    uses: ./lint.yaml\n    with:\n      count: \"{{ steps.first.output.n }}\"\n      name: \"{{ steps.first.output.s }}\"\n      label: \"n={{ steps.first.output.n }}\"\n",
        ),
        (
            "lint.yaml",
            "inputs:\n  count: { type: string }\n  name: { type: string }\n  label: { type: string }\nsteps:\n  check:\n    prompt: \"CHECK {{ inputs.count }}\"\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at(
            "main.yaml",
            8,
            14,
            "input `count` of `./lint.yaml` is a string, and this gives an integer"
        )]
    );
}

#[test]
fn keys_that_belong_to_turns_do_not_go_on_a_step_that_uses_a_workflow() {
    let dir = tree(&[
        (
            "main.yaml",
            "steps:\n  lint:\n    uses: ./lint.yaml\n    prompt: hi\n    sandbox: workspace-write\n  plain:\n    prompt: P\n    with: { a: 1 }\n",
        ),
        ("lint.yaml", "steps:\n  check: { prompt: C }\n"),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![
            at(
                "main.yaml",
                4,
                5,
                "`prompt` does not apply to a step with `uses`"
            ),
            at(
                "main.yaml",
                5,
                5,
                "`sandbox` does not apply to a step with `uses`"
            ),
            at(
                "main.yaml",
                8,
                5,
                "`with` only applies to a step with `uses`"
            ),
        ]
    );
}

#[test]
fn a_called_workflows_own_problems_are_reported_in_it() {
    let dir = tree(&[
        (
            "main.yaml",
            "steps:\n  lint:\n    uses: ./lint.yaml\n  after:\n    prompt: \"{{ steps.lint.output.verdikt }}\"\n",
        ),
        (
            "lint.yaml",
            "steps:\n  check:\n    promt: C\n    prompt: C\noutputs:\n  verdict: \"{{ steps.check.output }}\"\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at(
            "lint.yaml",
            3,
            5,
            "unknown key `promt`; did you mean `prompt`?"
        ),]
    );
    std::fs::write(
        dir.path().join("lint.yaml"),
        "steps:\n  check:\n    prompt: C\noutputs:\n  verdict: \"{{ steps.check.output }}\"\n",
    )
    .unwrap();
    assert_eq!(
        found(dir.path()),
        vec![at(
            "main.yaml",
            5,
            17,
            "`steps.lint.output` has no property `verdikt`; did you mean `verdict`?"
        )]
    );
}

#[test]
fn merge_keys_and_x_keys_reuse_settings_and_keep_positions() {
    let dir = tree(&[(
        "main.yaml",
        "x-turn: &turn\n  sandbox: read-only\n  timeout: 10 minutes\nx-notes: anything at all\nsteps:\n  a:\n    <<: *turn\n    prompt: A\n  b:\n    <<: *turn\n    timeout: 5m\n    prompt: B\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![at("main.yaml", 3, 12, "invalid duration `10 minutes`")],
        "the merged key is reported where the anchor writes it, once per step that merges it"
    );
    let dir = tree(&[(
        "main.yaml",
        "x-turn: &turn { sandbox: read-only }\nxturn: 1\nsteps:\n  a:\n    <<: *turn\n    prompt: A\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![at("main.yaml", 2, 1, "unknown key `xturn`")]
    );
}

#[test]
fn codex_config_is_checked_for_shape() {
    let dir = tree(&[(
        "main.yaml",
        "steps:\n  a:\n    prompt: A\n    config:\n      web_serch: live\n      web_search: sometimes\n      tools: { web_search: 3 }\n      mcp_servers:\n        docs: { comand: npx }\n        api: { args: [x] }\n      features.web_search_request: yes\n      approval_policy: never\n      shell_environment_policy: { inherit: core }\n      mcp_servers.ok.command: ok\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![
            at(
                "main.yaml",
                5,
                7,
                "unknown codex config key `web_serch`; did you mean `web_search`?"
            ),
            at(
                "main.yaml",
                6,
                19,
                "invalid `config.web_search` \"sometimes\""
            ),
            at(
                "main.yaml",
                7,
                28,
                "`config.tools.web_search` must be a boolean or a mapping, found an integer"
            ),
            at(
                "main.yaml",
                9,
                17,
                "unknown key `comand` in `config.mcp_servers.docs`; did you mean `command`?"
            ),
            at(
                "main.yaml",
                10,
                14,
                "mcp server `config.mcp_servers.api` has neither `command` nor `url`"
            ),
            at(
                "main.yaml",
                11,
                36,
                "`config.features.web_search_request` must be a boolean or a mapping, found a string"
            ),
            at("main.yaml", 12, 7, "`config` cannot set `approval_policy`"),
        ]
    );
}

#[test]
fn agent_settings_go_where_they_apply() {
    let dir = tree(&[(
        "main.yaml",
        "threads:\n  planner: { developer_instructions: Plan. }\nsteps:\n  a:\n    thread: planner\n    developer_instructions: Other.\n    config: { web_search: live }\n    prompt: A\n  b:\n    network: true\n    prompt: B\n  c:\n    sandbox: workspace-write\n    network: true\n    prompt: C\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![
            at(
                "main.yaml",
                6,
                29,
                "`developer_instructions` of a step on a named thread"
            ),
            at("main.yaml", 7, 13, "`config` of a step on a named thread"),
            at(
                "main.yaml",
                10,
                14,
                "`network: true` applies to the `workspace-write` sandbox, and step `b` runs `read-only`"
            ),
        ]
    );
}

#[test]
fn joins_pools_and_policy_templates() {
    let dir = tree(&[(
        "main.yaml",
        "inputs:\n  level: { type: enum, values: [low, huge], default: low }\npools: { heavy: 2, none: 0 }\ndefaults:\n  effort: \"{{ inputs.level }}\"\n  model: \"{{ steps.a.output }}\"\nsteps:\n  a:\n    prompt: A\n    pool: haevy\n    join: always\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![
            at("main.yaml", 3, 26, "`none` must be at least 1, found 0"),
            at(
                "main.yaml",
                6,
                14,
                "`steps` is read before any step runs: a `model` or `effort` template reads `inputs`, `env`, `workflow` and `run`"
            ),
            at(
                "main.yaml",
                10,
                11,
                "unknown pool `haevy`; did you mean `heavy`?"
            ),
            at("main.yaml", 11, 11, "invalid join `always`"),
        ]
    );
}

#[test]
fn an_effort_template_must_give_efforts() {
    let dir = tree(&[(
        "main.yaml",
        "inputs:\n  level: { type: enum, values: [low, huge], default: low }\n  fine: { type: enum, values: [low, high], default: low }\ndefaults:\n  effort: \"{{ inputs.level }}\"\nsteps:\n  a: { prompt: A }\n  b: { prompt: B, effort: \"{{ inputs.fine }}\" }\n",
    )]);
    assert_eq!(
        found(dir.path()),
        vec![at(
            "main.yaml",
            5,
            11,
            "`effort` may render to `huge`, which is not an effort"
        )]
    );
}

#[test]
fn a_pool_shared_with_a_called_workflow_has_one_size() {
    let dir = tree(&[
        (
            "main.yaml",
            "pools: { heavy: 2 }\nsteps:\n  lint:\n    uses: ./lint.yaml\n",
        ),
        (
            "lint.yaml",
            "pools: { heavy: 3 }\nsteps:\n  check: { prompt: C, pool: heavy }\n",
        ),
    ]);
    assert_eq!(
        found(dir.path()),
        vec![at(
            "main.yaml",
            1,
            10,
            "pool `heavy` holds 2 here and 3 in `./lint.yaml`"
        )]
    );
}

#[test]
fn the_plan_shows_what_composes() {
    let dir = tree(&[
        (
            "main.yaml",
            "inputs:\n  model: { type: string, default: m }\npools: { heavy: 1 }\nsteps:\n  survey:\n    prompt_file: prompts/survey.md\n    model: \"{{ inputs.model }}\"\n    developer_instructions: |\n      Survey only.\n      Never edit.\n    config: { web_search: live }\n    pool: heavy\n  lint:\n    uses: ./lint.yaml\n    with: { target: \"{{ steps.survey.output }}\" }\n  notify:\n    needs: [lint]\n    join: all_done\n    sandbox: workspace-write\n    network: true\n    prompt: N\n",
        ),
        ("prompts/survey.md", "Survey."),
        (
            "lint.yaml",
            "inputs:\n  target: { type: string }\nsteps:\n  check: { prompt: \"C {{ inputs.target }}\" }\noutputs:\n  ok: \"{{ steps.check.output }}\"\n",
        ),
    ]);
    let (workflow, plan) = load(dir.path().join("main.yaml")).unwrap();
    assert_eq!(
        render(&plan, &workflow, Format::Text),
        "workflow `main`: 4 steps in 4 levels
pools: heavy 1

level 1
  survey *
    needs     -
    prompt    prompts/survey.md
    thread    fresh
    policies  model {{ inputs.model }}, sandbox read-only, approval never, retries 0
    instructs Survey only.…
    config    web_search
    pool      heavy

level 2
  lint/check *
    needs     survey (via its caller)
    thread    fresh
    policies  sandbox read-only, approval never, retries 0

level 3
  lint *
    needs     survey (template), lint/check (sub-workflow)
    uses      ./lint.yaml, with target = {{ steps.survey.output }}

level 4
  notify *
    needs     lint
    join      all_done
    thread    fresh
    policies  sandbox workspace-write, network, approval never, retries 0

critical path (*): survey → lint/check → lint → notify
"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render(&plan, &workflow, Format::Json)).unwrap();
    assert_eq!(json["pools"], serde_json::json!({"heavy": 1}));
    assert_eq!(json["steps"][1]["id"], "lint");
    assert_eq!(json["steps"][1]["uses"], "./lint.yaml");
    assert_eq!(json["steps"][2]["part_of"], "lint");
    assert_eq!(json["steps"][3]["join"], "all_done");
    assert_eq!(
        json["steps"][0]["policies"]["config"],
        serde_json::json!({"web_search": "live"})
    );
    let mermaid = render(&plan, &workflow, Format::Mermaid);
    assert!(
        mermaid.contains("step_lint__check[\"lint/check<br/>fresh\"]"),
        "{mermaid}"
    );
}

#[test]
fn the_shipped_example_that_composes_validates_and_plans() {
    let weft = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run weft")
    };
    let out = weft(&["validate", "workflows/audit-crate.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: workflows/audit-crate.yaml (4 steps, 2 more in the workflows it calls)\n"
    );
    let out = weft(&["plan", "workflows/audit-crate.yaml", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order: Vec<&str> = plan["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "survey",
            "verify/test",
            "verify/summary",
            "verify",
            "notes",
            "report"
        ]
    );
    assert_eq!(plan["pools"], serde_json::json!({"models": 2}));
}
