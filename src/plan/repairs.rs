//! Repair steps in the plan: `on_conflict: R` on step `S` makes `R` wait for `S` (an
//! `on_conflict` edge). `R` runs while `S` finishes, so it may wait only for `S` and the
//! steps `S` waits for, and no step may wait for `R` (they wait for `S`, which is done
//! once its conflict is repaired).

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use super::build::EdgeKind;
use super::edges::{Edges, ancestors};
use super::flat::Flat;
use crate::workflow::{Diagnostic, Diagnostics};

/// Adds the `on_conflict` edges (they replace a `needs` or template edge between the
/// same steps: that one says less). A repair step is named within its own file.
pub(super) fn add_edges(flat: &Flat, edges: &mut Edges) {
    for from in 0..flat.steps.len() {
        let Some(repair) = &flat.step(from).on_conflict else {
            continue;
        };
        if let Some(to) = flat.index(flat.steps[from].scope, &repair.value) {
            if to != from {
                edges
                    .0
                    .insert((from, to), (EdgeKind::OnConflict, repair.span));
            }
        }
    }
}

/// What is wrong with the repair steps' place in the plan.
pub(super) fn check(flat: &Flat, edges: &Edges) -> Diagnostics {
    let mut errors = Diagnostics::default();
    let graph = edges.graph(flat.steps.len());
    let id = |i: usize| flat.steps[i].id.as_str();
    for s in 0..flat.steps.len() {
        let Some(r) = flat
            .step(s)
            .on_conflict
            .as_ref()
            .and_then(|name| flat.index(flat.steps[s].scope, &name.value))
            .filter(|&r| r != s)
        else {
            continue;
        };
        let (sid, rid) = (id(s), id(r));
        for ((_, to), (_, span)) in edges.0.iter().filter(|((from, _), _)| *from == r) {
            errors.push(
                Diagnostic::new(*span, format!("step `{}` waits for repair step `{rid}`, which runs only when the patches of `{sid}` conflict", id(*to)))
                    .with_help(format!("wait for `{sid}` instead: it is done once its conflict is repaired"))
                    .in_file_unless_top(flat.steps[s].scope, &flat.workflow(s).source),
            );
        }
        let upstream = ancestors(&graph, s);
        let preds = graph.neighbors_directed(NodeIndex::new(r), Direction::Incoming);
        for p in preds
            .map(NodeIndex::index)
            .filter(|p| *p != s && !upstream.contains(p))
        {
            let span = edges.0.get(&(p, r)).map_or(flat.step(r).id.span, |e| e.1);
            errors.push(
                Diagnostic::new(span, format!("repair step `{rid}` waits for `{}`, which `{sid}` does not wait for", id(p)))
                    .with_help(format!("a repair runs while `{sid}` finishes: it can wait only for `{sid}` and the steps `{sid}` waits for"))
                    .in_file_unless_top(flat.steps[s].scope, &flat.workflow(s).source),
            );
        }
    }
    errors
}
