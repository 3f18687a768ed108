//! Building the plan: base edges from `needs` and template references, a cycle check
//! that prints the cycle, then named-thread order and fork points, levels and the critical path.
//!
//! Threads: the steps naming one thread run one at a time in DAG order, file order breaking
//! ties (a `ThreadOrder` edge between neighbours). A `fork: T` step forks `T` as it stands
//! after the steps of `T` upstream of it: at least one must be; the next step of `T` waits
//! for the fork (a `Fork` edge), so what the fork sees never depends on timing.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use super::edges::{Edges, ancestors, check_cycles, topo_order};
use super::policies::Policies;
use crate::workflow::refs::step_references;
use crate::workflow::{Diagnostic, Diagnostics, ThreadRef, Workflow};

/// Why one step waits for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Listed in `needs`.
    Needs,
    /// Read as `steps.X` in a template or expression.
    Reference,
    /// Both run on the same named thread, this one earlier.
    ThreadOrder,
    /// A fork of a thread waits for it, or the thread's next step waits for the fork.
    Fork,
    /// A repair step waits for the step whose conflicts it repairs (`on_conflict`).
    OnConflict,
}

/// One dependency of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The step waited for (index into [`Plan::steps`]).
    pub step: usize,
    /// Why.
    pub kind: EdgeKind,
}

/// The thread a planned step runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThreadPlan {
    /// A new thread per turn.
    Fresh,
    /// The named thread.
    Named {
        /// Its name.
        name: String,
    },
    /// A new thread forked from `name` after step `after` (an index).
    Fork {
        /// The forked thread.
        name: String,
        /// The last step of that thread the fork sees.
        after: Option<usize>,
    },
    /// An existing thread; `id` is a template.
    Resume {
        /// The thread id template.
        id: String,
    },
}

/// One step as planned.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// The step id.
    pub id: String,
    /// Direct dependencies, sorted by step index.
    pub deps: Vec<Dependency>,
    /// Every step that must finish first (transitively).
    pub upstream: BTreeSet<usize>,
    /// Its level: 0 for steps with no dependencies, else one more than its deepest dependency.
    pub level: usize,
    /// Its thread.
    pub thread: ThreadPlan,
    /// Its effective policies.
    pub policies: Policies,
    /// On the critical path.
    pub critical: bool,
}

/// The plan of a workflow; step indices follow declaration order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The workflow's name.
    pub name: String,
    /// The DAG: node `i` is step `i`; an edge `a -> b` means `b` waits for `a`.
    pub graph: DiGraph<usize, EdgeKind>,
    /// Steps in declaration order.
    pub steps: Vec<PlannedStep>,
    /// A topological order (file order breaking ties).
    pub order: Vec<usize>,
    /// Steps grouped by level; a level's steps may run in parallel.
    pub levels: Vec<Vec<usize>>,
    /// The longest chain of steps, first to last.
    pub critical_path: Vec<usize>,
}

impl Plan {
    /// Plan `workflow`. Fails with located diagnostics on a cycle or an impossible fork.
    pub fn build(workflow: &Workflow) -> Result<Plan, Diagnostics> {
        let index: HashMap<&str, usize> = workflow
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.value.as_str(), i))
            .collect();
        let mut edges = Edges(HashMap::new());
        let env = crate::template::environment();
        for (to, step) in workflow.steps.iter().enumerate() {
            for need in &step.needs {
                if let Some(&from) = index.get(need.value.as_str()) {
                    if from != to {
                        edges.add(from, to, EdgeKind::Needs, need.span);
                    }
                }
            }
            for reference in step_references(&env, &workflow.source, step) {
                if let Some(&from) = index.get(reference.value.as_str()) {
                    if from != to {
                        edges.add(from, to, EdgeKind::Reference, reference.span);
                    }
                }
            }
        }
        super::repairs::add_edges(workflow, &index, &mut edges);
        let n = workflow.steps.len();
        check_cycles(workflow, &edges)?;
        let base_order = topo_order(&edges.graph(n));
        add_thread_order(workflow, &base_order, &mut edges);
        let fork_points = add_forks(workflow, &base_order, &mut edges)?;
        let repairs = super::repairs::check(workflow, &edges);
        if !repairs.is_empty() {
            return Err(repairs);
        }
        let graph = edges.graph(n);
        Ok(assemble(workflow, graph, &fork_points))
    }

    /// The planned step with id `id`.
    pub fn step(&self, id: &str) -> Option<&PlannedStep> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Indices of the steps that wait directly for step `index`.
    pub fn dependents(&self, index: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(index), Direction::Outgoing)
            .map(NodeIndex::index)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn thread_chain(workflow: &Workflow, order: &[usize], name: &str) -> Vec<usize> {
    order
        .iter()
        .copied()
        .filter(|&i| matches!(&workflow.steps[i].thread, ThreadRef::Named(n) if n.value == name))
        .collect()
}

fn add_thread_order(workflow: &Workflow, order: &[usize], edges: &mut Edges) {
    for thread in &workflow.threads {
        let chain = thread_chain(workflow, order, &thread.name.value);
        for pair in chain.windows(2) {
            edges.add(pair[0], pair[1], EdgeKind::ThreadOrder, thread.name.span);
        }
    }
}

fn add_forks(
    workflow: &Workflow,
    order: &[usize],
    edges: &mut Edges,
) -> Result<HashMap<usize, usize>, Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut points = HashMap::new();
    for (i, step) in workflow.steps.iter().enumerate() {
        let ThreadRef::Fork(name) = &step.thread else {
            continue;
        };
        if workflow.thread(&name.value).is_none() {
            continue;
        }
        let chain = thread_chain(workflow, order, &name.value);
        let upstream = ancestors(&edges.graph(workflow.steps.len()), i);
        let seen: Vec<usize> = chain
            .iter()
            .copied()
            .filter(|c| upstream.contains(c))
            .collect();
        let Some(&last) = seen.last() else {
            let help = match chain.first() {
                Some(&first) => format!(
                    "a fork starts from the thread's history: add `needs: [{}]`",
                    workflow.steps[first].id.value
                ),
                None => format!(
                    "no step runs on thread `{}`; give one `thread: {}`",
                    name.value, name.value
                ),
            };
            errors.push(
                Diagnostic::new(
                    name.span,
                    format!(
                        "step `{}` forks thread `{}` before any of its steps has run",
                        step.id.value, name.value
                    ),
                )
                .with_help(help),
            );
            continue;
        };
        points.insert(i, last);
        if let Some(&next) = chain.iter().find(|c| !upstream.contains(c)) {
            edges.add(i, next, EdgeKind::Fork, name.span);
        }
    }
    if errors.is_empty() {
        Ok(points)
    } else {
        Err(errors)
    }
}

fn assemble(
    workflow: &Workflow,
    graph: DiGraph<usize, EdgeKind>,
    forks: &HashMap<usize, usize>,
) -> Plan {
    let order = topo_order(&graph);
    let n = workflow.steps.len();
    let mut level = vec![0usize; n];
    let mut depth = vec![1usize; n];
    let mut best_pred: Vec<Option<usize>> = vec![None; n];
    for &i in &order {
        let mut preds: Vec<usize> = graph
            .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
            .map(NodeIndex::index)
            .collect();
        preds.sort_unstable();
        for p in preds {
            level[i] = level[i].max(level[p] + 1);
            if depth[p] + 1 > depth[i] {
                depth[i] = depth[p] + 1;
                best_pred[i] = Some(p);
            }
        }
    }
    let mut critical_path = Vec::new();
    let end = (0..n).max_by_key(|&i| (depth[i], Reverse(i)));
    let mut cursor = end;
    while let Some(i) = cursor {
        critical_path.push(i);
        cursor = best_pred[i];
    }
    critical_path.reverse();
    let levels_count = level.iter().copied().max().map_or(0, |m| m + 1);
    let mut levels = vec![Vec::new(); levels_count];
    for &i in &order {
        levels[level[i]].push(i);
    }
    for l in &mut levels {
        l.sort_unstable();
    }
    let steps = (0..n)
        .map(|i| {
            planned_step(
                workflow,
                &graph,
                i,
                level[i],
                critical_path.contains(&i),
                forks.get(&i).copied(),
            )
        })
        .collect();
    Plan {
        name: workflow.name.clone(),
        graph,
        steps,
        order,
        levels,
        critical_path,
    }
}

fn planned_step(
    workflow: &Workflow,
    graph: &DiGraph<usize, EdgeKind>,
    i: usize,
    level: usize,
    critical: bool,
    fork_after: Option<usize>,
) -> PlannedStep {
    let step = &workflow.steps[i];
    let mut deps: Vec<Dependency> = graph
        .edges_directed(NodeIndex::new(i), Direction::Incoming)
        .map(|e| Dependency {
            step: petgraph::visit::EdgeRef::source(&e).index(),
            kind: *e.weight(),
        })
        .collect();
    deps.sort_by_key(|d| (d.step, d.kind));
    let thread = match &step.thread {
        ThreadRef::Fresh => ThreadPlan::Fresh,
        ThreadRef::Named(n) => ThreadPlan::Named {
            name: n.value.clone(),
        },
        ThreadRef::Fork(n) => ThreadPlan::Fork {
            name: n.value.clone(),
            after: fork_after,
        },
        ThreadRef::Resume(t) => ThreadPlan::Resume {
            id: t.value.clone(),
        },
    };
    PlannedStep {
        id: step.id.value.clone(),
        deps,
        upstream: ancestors(graph, i),
        level,
        thread,
        policies: Policies::resolve(workflow, step),
        critical,
    }
}
