//! Repair steps in the plan: `on_conflict: R` on step `S` makes `R` wait for `S` (an
//! `on_conflict` edge). `R` runs while `S` finishes, so it may wait only for `S` and the
//! steps `S` waits for, and no step may wait for `R` (they wait for `S`, which is done
//! once its conflict is repaired).

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use super::build::EdgeKind;
use super::edges::{Edges, ancestors};
use crate::workflow::{Diagnostic, Diagnostics, Workflow};

/// Adds the `on_conflict` edges (they replace a `needs` or template edge between the
/// same steps: that one says less).
pub(super) fn add_edges(workflow: &Workflow, index: &HashMap<&str, usize>, edges: &mut Edges) {
    for (from, step) in workflow.steps.iter().enumerate() {
        let Some(repair) = &step.on_conflict else {
            continue;
        };
        if let Some(&to) = index.get(repair.value.as_str()) {
            if to != from {
                edges
                    .0
                    .insert((from, to), (EdgeKind::OnConflict, repair.span));
            }
        }
    }
}

/// What is wrong with the repair steps' place in the plan.
pub(super) fn check(workflow: &Workflow, edges: &Edges) -> Diagnostics {
    let mut errors = Diagnostics::default();
    let n = workflow.steps.len();
    let graph = edges.graph(n);
    for (s, step) in workflow.steps.iter().enumerate() {
        let Some(r) = step
            .on_conflict
            .as_ref()
            .and_then(|id| workflow.steps.iter().position(|x| x.id.value == id.value))
            .filter(|&r| r != s)
        else {
            continue;
        };
        let (sid, rid) = (&step.id.value, &workflow.steps[r].id.value);
        for ((_, to), (_, span)) in edges.0.iter().filter(|((from, _), _)| *from == r) {
            errors.push(
                Diagnostic::new(*span, format!("step `{}` waits for repair step `{rid}`, which runs only when the patches of `{sid}` conflict", workflow.steps[*to].id.value))
                    .with_help(format!("wait for `{sid}` instead: it is done once its conflict is repaired")),
            );
        }
        let upstream = ancestors(&graph, s);
        let preds = graph.neighbors_directed(NodeIndex::new(r), Direction::Incoming);
        for p in preds
            .map(NodeIndex::index)
            .filter(|p| *p != s && !upstream.contains(p))
        {
            let span = edges
                .0
                .get(&(p, r))
                .map_or(workflow.steps[r].id.span, |e| e.1);
            errors.push(
                Diagnostic::new(span, format!("repair step `{rid}` waits for `{}`, which `{sid}` does not wait for", workflow.steps[p].id.value))
                    .with_help(format!("a repair runs while `{sid}` finishes: it can wait only for `{sid}` and the steps `{sid}` waits for")),
            );
        }
    }
    errors
}
