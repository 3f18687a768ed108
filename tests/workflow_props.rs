//! Property tests: generated DAGs plan with every edge respected; random bytes and
//! mutated workflow files never panic the loader; templates that read generated output
//! schemas correctly get no diagnostic, and a type error put into them is always caught.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use weft::plan::Plan;
use weft::template::Renderer;
use weft::workflow::load_str;

/// A generated workflow: per step (in topological index order) its needs and thread,
/// and the order the steps are declared in.
#[derive(Debug, Clone)]
struct Dag {
    needs: Vec<Vec<usize>>,
    threads: Vec<Option<u8>>,
    declared: Vec<usize>,
}

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..10).prop_flat_map(|n| {
        let needs = (0..n)
            .map(|j| proptest::sample::subsequence((0..j).collect::<Vec<_>>(), 0..=j.min(3)))
            .collect::<Vec<_>>();
        let threads = proptest::collection::vec(proptest::option::of(0u8..2), n);
        let declared = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        (needs, threads, declared).prop_map(|(needs, threads, declared)| Dag {
            needs,
            threads,
            declared,
        })
    })
}

fn to_yaml(dag: &Dag) -> String {
    let mut yaml = String::from("threads:\n  t0: {}\n  t1: {}\nsteps:\n");
    for &i in &dag.declared {
        let _ = writeln!(yaml, "  s{i}:");
        let needs: Vec<String> = dag.needs[i].iter().map(|n| format!("s{n}")).collect();
        let _ = writeln!(yaml, "    needs: [{}]", needs.join(", "));
        if let Some(t) = dag.threads[i] {
            let _ = writeln!(yaml, "    thread: t{t}");
        }
        let _ = writeln!(yaml, "    prompt: step {i}");
    }
    yaml
}

/// A generated output schema.
#[derive(Debug, Clone)]
enum Shape {
    Str,
    Int,
    Enum(Vec<String>),
    Arr(Box<Shape>),
    /// Properties `p0`, `p1`, …: their shape and whether they are required.
    Obj(Vec<(Shape, bool)>),
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![
        Just(Shape::Str),
        Just(Shape::Int),
        proptest::collection::vec("[a-z]{2,6}", 1..4).prop_map(Shape::Enum),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Shape::Arr(Box::new(s))),
            proptest::collection::vec((inner, any::<bool>()), 1..4).prop_map(Shape::Obj),
        ]
    })
}

fn schema(shape: &Shape) -> Value {
    match shape {
        Shape::Str => json!({"type": "string"}),
        Shape::Int => json!({"type": "integer"}),
        Shape::Enum(values) => json!({"enum": values}),
        Shape::Arr(items) => json!({"type": "array", "items": schema(items)}),
        Shape::Obj(props) => {
            let properties: serde_json::Map<String, Value> = props
                .iter()
                .enumerate()
                .map(|(i, (s, _))| (format!("p{i}"), schema(s)))
                .collect();
            let required: Vec<String> = props
                .iter()
                .enumerate()
                .filter(|(_, (_, r))| *r)
                .map(|(i, _)| format!("p{i}"))
                .collect();
            json!({"type": "object", "properties": properties, "required": required})
        }
    }
}

/// Every path from `prefix` through required properties (and first elements), with the
/// shape it reaches.
fn paths(shape: &Shape, prefix: String, out: &mut Vec<(String, Shape)>) {
    out.push((prefix.clone(), shape.clone()));
    match shape {
        Shape::Arr(items) => paths(items, format!("{prefix}[0]"), out),
        Shape::Obj(props) => {
            for (i, (s, required)) in props.iter().enumerate() {
                if *required {
                    paths(s, format!("{prefix}.p{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// A correct read of `path` (of `shape`), as a template.
fn correct_read(path: &str, shape: &Shape) -> String {
    match shape {
        Shape::Str => format!("{{{{ {path} | upper }}}}"),
        Shape::Int => format!("{{{{ {path} + 1 }}}}"),
        Shape::Enum(values) => format!("{{% if {path} == '{}' %}}yes{{% endif %}}", values[0]),
        Shape::Arr(_) | Shape::Obj(_) => format!("{{{{ {path} | length }}}}"),
    }
}

/// A type error on `path` (of `shape`): the template, and a part of the message it gets.
fn wrong_read(path: &str, shape: &Shape, kind: usize) -> (String, &'static str) {
    match (kind, shape) {
        (0, Shape::Obj(_)) => (
            format!("{{{{ {path}.nowhere }}}}"),
            "has no property `nowhere`",
        ),
        (0, Shape::Arr(_)) => (
            format!("{{{{ {path}.nowhere }}}}"),
            "is an array; it has no property",
        ),
        (0, _) => (
            format!("{{{{ {path}.nowhere }}}}"),
            "; it has no property `nowhere`",
        ),
        (1, Shape::Enum(_)) => (
            format!("{{{{ {path} == 'never-a-value' }}}}"),
            "is never `never-a-value`",
        ),
        (1, Shape::Arr(_)) => (
            format!(
                "{{{{ {path} | length }}}}{{% for x in {path}[0] %}}{{% endfor %}}{{{{ {path} | lenghth }}}}"
            ),
            "unknown filter `lenghth`",
        ),
        (1, Shape::Obj(_)) => (
            format!("{{{{ {path} == 'x' }}}}"),
            "is an object; it is never the string `x`",
        ),
        (1, _) => (
            format!("{{% for x in {path} %}}{{% endfor %}}"),
            "needs an array",
        ),
        _ => (
            format!("{{{{ {path} | lenght }}}}"),
            "unknown filter `lenght`; did you mean `length`?",
        ),
    }
}

fn typed_workflow(shape: &Shape, prompt: &str) -> String {
    let schema =
        json!({"type": "object", "required": ["root"], "properties": {"root": schema(shape)}});
    format!(
        "steps:\n  producer:\n    prompt: p\n    output_schema: {schema}\n  consumer:\n    prompt: {}\n",
        serde_json::to_string(prompt).unwrap()
    )
}

fn type_check(yaml: &str) -> Vec<(usize, String)> {
    let workflow =
        load_str("gen.yaml", yaml, Path::new(".")).unwrap_or_else(|e| panic!("{}", e.render()));
    let renderer = Renderer::new();
    weft::typing::check(&workflow, renderer.environment())
        .0
        .iter()
        .map(|d| {
            (
                workflow.source.position(d.span.start).line,
                d.message.clone(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn type_correct_reads_of_generated_schemas_get_no_diagnostic(shape in shape(), pick in any::<prop::sample::Index>()) {
        let mut all = Vec::new();
        paths(&shape, "steps.producer.output.root".into(), &mut all);
        let (path, reached) = pick.get(&all).clone();
        let yaml = typed_workflow(&shape, &correct_read(&path, &reached));
        let found = type_check(&yaml);
        prop_assert!(found.is_empty(), "{}\n{:?}", yaml, found);
    }

    #[test]
    fn a_type_error_in_a_read_of_a_generated_schema_is_always_caught(
        shape in shape(),
        pick in any::<prop::sample::Index>(),
        kind in 0usize..3,
    ) {
        let mut all = Vec::new();
        paths(&shape, "steps.producer.output.root".into(), &mut all);
        let (path, reached) = pick.get(&all).clone();
        let (template, expected) = wrong_read(&path, &reached, kind);
        let yaml = typed_workflow(&shape, &template);
        let found = type_check(&yaml);
        prop_assert!(
            found.iter().any(|(line, message)| *line == 6 && message.contains(expected)),
            "{}\nexpected `{}` on line 6, found {:?}", yaml, expected, found
        );
    }

    #[test]
    fn random_dags_plan_with_every_edge_respected(dag in dag()) {
        let yaml = to_yaml(&dag);
        let workflow = load_str("gen.yaml", yaml.as_str(), Path::new(".")).map_err(|e| TestCaseError::fail(e.render()))?;
        let plan = Plan::build(&workflow).map_err(|e| TestCaseError::fail(e.render(&workflow.source)))?;
        let index = |i: usize| plan.steps.iter().position(|s| s.id == format!("s{i}")).unwrap();
        let position = |i: usize| plan.order.iter().position(|&o| o == index(i)).unwrap();
        prop_assert_eq!(plan.order.len(), dag.needs.len());
        for (j, needs) in dag.needs.iter().enumerate() {
            for &i in needs {
                prop_assert!(position(i) < position(j), "s{} must run before s{}", i, j);
                prop_assert!(plan.steps[index(i)].level < plan.steps[index(j)].level);
                prop_assert!(plan.steps[index(j)].upstream.contains(&index(i)));
            }
        }
        for t in 0..2u8 {
            let mut on_thread: Vec<usize> = (0..dag.needs.len()).filter(|&i| dag.threads[i] == Some(t)).collect();
            on_thread.sort_by_key(|&i| position(i));
            for pair in on_thread.windows(2) {
                prop_assert!(plan.steps[index(pair[1])].upstream.contains(&index(pair[0])));
            }
        }
        for pair in plan.critical_path.windows(2) {
            prop_assert!(plan.steps[pair[1]].deps.iter().any(|d| d.step == pair[0]));
        }
    }

    #[test]
    fn random_bytes_never_panic_the_loader(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = weft::plan::load(&path).map_err(|e| e.render());
    }

    #[test]
    fn mutated_workflows_never_panic_the_loader(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..8, "[ -~\n\t{}\\[\\]:|>&*!#'\"-]{0,6}"), 1..6),
    ) {
        let files = ["hello", "review-diff", "split-module", "triage-failure"];
        let mut text = std::fs::read_to_string(format!("workflows/{}.yaml", files[which])).unwrap();
        for (at, delete, insert) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) { start -= 1; }
            let mut end = (start + delete).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(start..end, &insert);
        }
        if let Err(e) = weft::plan::load_str("m.yaml", text, Path::new("workflows")) {
            let rendered = e.render();
            prop_assert!(rendered.starts_with("error: "), "{}", rendered);
        }
    }
}
