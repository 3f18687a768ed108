//! A workflow with the workflows its steps call, as one list of steps: a step that `uses`
//! a file is followed by that file's steps, their ids prefixed with its own
//! (`lint/check`), recursively. Each step keeps its scope: the file it is written in,
//! whose names (`steps.X`, threads, inputs) it reads.

use std::collections::HashMap;
use std::sync::Arc;

use super::build::EdgeKind;
use super::edges::Edges;
use crate::workflow::{Step, Workflow};

/// One workflow file of a run: the run's own (scope 0), or one a step calls.
#[derive(Debug, Clone)]
pub struct PlanScope {
    /// What its step ids and thread names are prefixed with: `""`, `lint/`, `lint/fmt/`.
    pub prefix: String,
    /// The file.
    pub workflow: Arc<Workflow>,
    /// The step that calls it (an index into the plan's steps); `None` for scope 0.
    pub call: Option<usize>,
}

/// One step of the flat list: its full id, its scope and its index in that scope's file.
#[derive(Debug, Clone)]
pub(super) struct FlatStep {
    pub id: String,
    pub scope: usize,
    pub local: usize,
}

/// Every step of a run, callers before the steps of what they call.
pub(super) struct Flat {
    pub scopes: Vec<PlanScope>,
    pub steps: Vec<FlatStep>,
    index: HashMap<(usize, String), usize>,
}

impl Flat {
    /// Flattens `workflow` and what its steps call.
    pub fn new(workflow: &Workflow) -> Flat {
        let mut flat = Flat {
            scopes: vec![PlanScope {
                prefix: String::new(),
                workflow: Arc::new(workflow.clone()),
                call: None,
            }],
            steps: Vec::new(),
            index: HashMap::new(),
        };
        flat.add_scope(0);
        flat
    }

    fn add_scope(&mut self, scope: usize) {
        let workflow = self.scopes[scope].workflow.clone();
        for (local, step) in workflow.steps.iter().enumerate() {
            let id = format!("{}{}", self.scopes[scope].prefix, step.id.value);
            let at = self.steps.len();
            self.index.insert((scope, step.id.value.clone()), at);
            self.steps.push(FlatStep {
                id: id.clone(),
                scope,
                local,
            });
            if let Some(callee) = step.call.as_ref().and_then(|c| c.workflow.clone()) {
                self.scopes.push(PlanScope {
                    prefix: format!("{id}/"),
                    workflow: callee,
                    call: Some(at),
                });
                self.add_scope(self.scopes.len() - 1);
            }
        }
    }

    /// The step at flat index `i`, as written.
    pub fn step(&self, i: usize) -> &Step {
        let s = &self.steps[i];
        &self.scopes[s.scope].workflow.steps[s.local]
    }

    /// The file step `i` is written in.
    pub fn workflow(&self, i: usize) -> &Workflow {
        &self.scopes[self.steps[i].scope].workflow
    }

    /// The flat index of step `id` of scope `scope`.
    pub fn index(&self, scope: usize, id: &str) -> Option<usize> {
        self.index.get(&(scope, id.to_string())).copied()
    }

    /// The steps of scope `scope`, by flat index.
    pub fn members(&self, scope: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.steps.len()).filter(move |&i| self.steps[i].scope == scope)
    }
}

/// A step that `uses` a workflow waits for that workflow's steps (`Part`), and the
/// steps of it that wait for no other of its steps wait for what the calling step waits
/// for (`Inherited`); outer calls first, so that nested ones inherit in turn.
pub(super) fn add_calls(flat: &Flat, edges: &mut Edges) {
    for (scope, s) in flat.scopes.iter().enumerate() {
        let Some(call) = s.call else { continue };
        let span = flat
            .step(call)
            .call
            .as_ref()
            .map_or(flat.step(call).id.span, |c| c.uses.span);
        let waits: Vec<usize> = edges
            .0
            .iter()
            .filter(|((_, to), (kind, _))| *to == call && *kind != EdgeKind::Part)
            .map(|((from, _), _)| *from)
            .collect();
        let members: Vec<usize> = flat.members(scope).collect();
        for &child in &members {
            edges.add(child, call, EdgeKind::Part, span);
            let first = !edges
                .0
                .keys()
                .any(|(from, to)| *to == child && members.contains(from));
            if first {
                for &w in &waits {
                    edges.add(w, child, EdgeKind::Inherited, span);
                }
            }
        }
    }
}
