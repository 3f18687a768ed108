//! The edge set the planner grows (strongest reason kept per pair), cycle detection
//! with the cycle's path, file-order topological sort, and ancestor sets.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use super::build::EdgeKind;
use super::flat::Flat;
use crate::workflow::{Diagnostic, Diagnostics, Span};

/// Edges by `(from, to)`: `to` waits for `from`, for a reason, written at a span.
pub(super) struct Edges(pub(super) HashMap<(usize, usize), (EdgeKind, Span)>);

impl Edges {
    pub(super) fn add(&mut self, from: usize, to: usize, kind: EdgeKind, span: Span) {
        let entry = self.0.entry((from, to)).or_insert((kind, span));
        if kind < entry.0 {
            *entry = (kind, span);
        }
    }

    pub(super) fn graph(&self, n: usize) -> DiGraph<usize, EdgeKind> {
        let mut graph = DiGraph::new();
        for i in 0..n {
            graph.add_node(i);
        }
        let mut edges: Vec<_> = self.0.iter().collect();
        edges.sort();
        for ((from, to), (kind, _)) in edges {
            graph.add_edge(NodeIndex::new(*from), NodeIndex::new(*to), *kind);
        }
        graph
    }
}

pub(super) fn check_cycles(flat: &Flat, edges: &Edges) -> Result<(), Diagnostics> {
    let graph = edges.graph(flat.steps.len());
    let mut errors = Diagnostics::default();
    for scc in petgraph::algo::tarjan_scc(&graph) {
        if scc.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = scc.iter().map(|n| n.index()).collect();
        let cycle = cycle_path(&graph, &members);
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| format!("`{}`", flat.steps[i].id))
            .collect();
        let (first, second) = (cycle[0], cycle[1]);
        let span = edges
            .0
            .get(&(second, first))
            .map_or(flat.step(first).id.span, |e| e.1);
        let scope = flat.steps[first].scope;
        errors.push(
            Diagnostic::new(span, format!("dependency cycle: {}", names.join(" → ")))
                .with_help("each step waits for the next one (through `needs` or a `steps.X` reference); remove one of these dependencies")
                .in_file_unless_top(scope, &flat.workflow(first).source),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A cycle through the lowest-numbered member, following "waits for" (reverse edges).
fn cycle_path(graph: &DiGraph<usize, EdgeKind>, members: &BTreeSet<usize>) -> Vec<usize> {
    let start = *members.iter().next().unwrap_or(&0);
    let mut path = vec![start];
    let mut seen = BTreeSet::from([start]);
    let mut current = start;
    loop {
        let mut preds: Vec<usize> = graph
            .neighbors_directed(NodeIndex::new(current), Direction::Incoming)
            .map(NodeIndex::index)
            .filter(|p| members.contains(p))
            .collect();
        preds.sort_unstable();
        if preds.contains(&start) && path.len() > 1 || preds.is_empty() {
            path.push(start);
            return path;
        }
        let next = preds
            .iter()
            .copied()
            .find(|p| !seen.contains(p))
            .unwrap_or(start);
        path.push(next);
        if next == start || !seen.insert(next) {
            return path;
        }
        current = next;
    }
}

/// Kahn's algorithm, always taking the lowest step index that is ready.
pub(super) fn topo_order(graph: &DiGraph<usize, EdgeKind>) -> Vec<usize> {
    let n = graph.node_count();
    let mut indegree: Vec<usize> = (0..n)
        .map(|i| {
            graph
                .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for next in graph.neighbors_directed(NodeIndex::new(i), Direction::Outgoing) {
            let j = next.index();
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    order
}

/// Every step `of` waits for, directly or not. A flag per node, then one sorted bulk
/// build: called for every step, so one insert per ancestor into a tree would make a
/// long chain quadratic in tree operations (20 ms at 1,000 steps).
pub(super) fn ancestors(graph: &DiGraph<usize, EdgeKind>, of: usize) -> BTreeSet<usize> {
    let mut seen = vec![false; graph.node_count()];
    let mut stack = vec![of];
    while let Some(i) = stack.pop() {
        for p in graph.neighbors_directed(NodeIndex::new(i), Direction::Incoming) {
            if !seen[p.index()] {
                seen[p.index()] = true;
                stack.push(p.index());
            }
        }
    }
    seen.iter()
        .enumerate()
        .filter_map(|(i, s)| s.then_some(i))
        .collect()
}
