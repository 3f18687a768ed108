//! Property tests: generated DAGs plan with every edge respected; random bytes and
//! mutated workflow files never panic the loader.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use weft::plan::Plan;
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

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
