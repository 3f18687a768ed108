//! Building the plan: the steps of the workflow and of the workflows its steps call in
//! one list ([`Flat`]), base edges from `needs` and template references, a cycle check
//! that prints the cycle, then named-thread order and fork points, levels and the critical path.
//!
//! Threads: the steps naming one thread run one at a time in DAG order, file order breaking
//! ties (a `ThreadOrder` edge between neighbours). A `fork: T` step forks `T` as it stands
//! after the steps of `T` upstream of it: at least one must be; the next step of `T` waits
//! for the fork (a `Fork` edge), so what the fork sees never depends on timing.
//!
//! Sub-workflows: a step that `uses` a file finishes after that file's steps (`Part`
//! edges), whose first steps wait for what the calling step waits for (`Inherited`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use super::edges::{Edges, ancestors, check_cycles, topo_order};
use super::flat::{Flat, PlanScope, add_calls};
use super::policies::Policies;
use crate::vocab::Join;
use crate::workflow::refs::step_references;
use crate::workflow::{Diagnostic, Diagnostics, Step, ThreadRef, Workflow};

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
    /// A step that `uses` a workflow finishes after that workflow's steps.
    Part,
    /// A called workflow's first steps wait for what the step calling it waits for.
    Inherited,
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
    /// The step id; a called workflow's steps are prefixed with the calling step's
    /// (`lint/check`).
    pub id: String,
    /// The workflow file it is written in (an index into [`Plan::scopes`]).
    pub scope: usize,
    /// Its index among that file's steps.
    pub local: usize,
    /// The step that calls the workflow it is in (`None` in the run's own workflow).
    pub parent: Option<usize>,
    /// Which upstream results let it run.
    pub join: Join,
    /// The named pool it takes a place in.
    pub pool: Option<String>,
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

/// The plan of a workflow; step indices follow declaration order, each step that `uses`
/// a workflow followed by that workflow's steps.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The workflow's name.
    pub name: String,
    /// The workflow files: the run's own (0), then each called one.
    pub scopes: Vec<PlanScope>,
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
    /// Plan `workflow` (and the workflows its steps call). Fails with located
    /// diagnostics on a cycle or an impossible fork.
    pub fn build(workflow: &Workflow) -> Result<Plan, Diagnostics> {
        let flat = Flat::new(workflow);
        let mut edges = Edges(HashMap::new());
        let env = crate::template::environment();
        for to in 0..flat.steps.len() {
            let (scope, step) = (flat.steps[to].scope, flat.step(to));
            for need in &step.needs {
                if let Some(from) = flat.index(scope, &need.value) {
                    if from != to {
                        edges.add(from, to, EdgeKind::Needs, need.span);
                    }
                }
            }
            for reference in step_references(&env, flat.workflow(to), step) {
                if let Some(from) = flat.index(scope, &reference.value) {
                    if from != to {
                        edges.add(from, to, EdgeKind::Reference, reference.span);
                    }
                }
            }
        }
        add_calls(&flat, &mut edges);
        super::repairs::add_edges(&flat, &mut edges);
        let n = flat.steps.len();
        check_cycles(&flat, &edges)?;
        let base_order = topo_order(&edges.graph(n));
        add_thread_order(&flat, &base_order, &mut edges);
        let fork_points = add_forks(&flat, &base_order, &mut edges)?;
        let repairs = super::repairs::check(&flat, &edges);
        if !repairs.is_empty() {
            return Err(repairs);
        }
        let graph = edges.graph(n);
        Ok(assemble(&flat, graph, &fork_points))
    }

    /// The step at index `i` as written in its workflow file.
    pub fn step_def(&self, i: usize) -> &Step {
        let s = &self.steps[i];
        &self.scopes[s.scope].workflow.steps[s.local]
    }

    /// The workflow file step `i` is written in.
    pub fn workflow_of(&self, i: usize) -> &Workflow {
        &self.scopes[self.steps[i].scope].workflow
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

fn thread_chain(flat: &Flat, order: &[usize], scope: usize, name: &str) -> Vec<usize> {
    order
        .iter()
        .copied()
        .filter(|&i| {
            flat.steps[i].scope == scope
                && matches!(&flat.step(i).thread, ThreadRef::Named(n) if n.value == name)
        })
        .collect()
}

fn add_thread_order(flat: &Flat, order: &[usize], edges: &mut Edges) {
    for (scope, s) in flat.scopes.iter().enumerate() {
        for thread in &s.workflow.threads {
            let chain = thread_chain(flat, order, scope, &thread.name.value);
            for pair in chain.windows(2) {
                edges.add(pair[0], pair[1], EdgeKind::ThreadOrder, thread.name.span);
            }
        }
    }
}

fn add_forks(
    flat: &Flat,
    order: &[usize],
    edges: &mut Edges,
) -> Result<HashMap<usize, usize>, Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut points = HashMap::new();
    for i in 0..flat.steps.len() {
        let (scope, step, workflow) = (flat.steps[i].scope, flat.step(i), flat.workflow(i));
        let ThreadRef::Fork(name) = &step.thread else {
            continue;
        };
        if workflow.thread(&name.value).is_none() {
            continue;
        }
        let chain = thread_chain(flat, order, scope, &name.value);
        let upstream = ancestors(&edges.graph(flat.steps.len()), i);
        let seen: Vec<usize> = chain
            .iter()
            .copied()
            .filter(|c| upstream.contains(c))
            .collect();
        let Some(&last) = seen.last() else {
            let help = match chain.first() {
                Some(&first) => format!(
                    "a fork starts from the thread's history: add `needs: [{}]`",
                    flat.step(first).id.value
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
                .with_help(help)
                .in_file_unless_top(scope, &workflow.source),
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

fn assemble(flat: &Flat, graph: DiGraph<usize, EdgeKind>, forks: &HashMap<usize, usize>) -> Plan {
    let order = topo_order(&graph);
    let n = flat.steps.len();
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
                flat,
                &graph,
                i,
                level[i],
                critical_path.contains(&i),
                forks.get(&i).copied(),
            )
        })
        .collect();
    Plan {
        name: flat.scopes[0].workflow.name.clone(),
        scopes: flat.scopes.clone(),
        graph,
        steps,
        order,
        levels,
        critical_path,
    }
}

fn planned_step(
    flat: &Flat,
    graph: &DiGraph<usize, EdgeKind>,
    i: usize,
    level: usize,
    critical: bool,
    fork_after: Option<usize>,
) -> PlannedStep {
    let (step, workflow) = (flat.step(i), flat.workflow(i));
    let scope = &flat.scopes[flat.steps[i].scope];
    let prefixed = |name: &str| format!("{}{name}", scope.prefix);
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
            name: prefixed(&n.value),
        },
        ThreadRef::Fork(n) => ThreadPlan::Fork {
            name: prefixed(&n.value),
            after: fork_after,
        },
        ThreadRef::Resume(t) => ThreadPlan::Resume {
            id: t.value.clone(),
        },
    };
    PlannedStep {
        id: flat.steps[i].id.clone(),
        scope: flat.steps[i].scope,
        local: flat.steps[i].local,
        parent: scope.call,
        join: step.join,
        pool: step.pool.as_ref().map(|p| p.value.clone()),
        deps,
        upstream: ancestors(graph, i),
        level,
        thread,
        policies: Policies::resolve(workflow, step),
        critical,
    }
}
