//! [`Trees`]: where each unit of a run works, decided when the unit is made. A unit of
//! an isolated step gets a worktree of its own (its `cwd` moved into it, at the same
//! place relative to the repository's top level), a repair step the merge tree of the
//! step it repairs, a step with `writes` in the shared tree a check of what it changed;
//! any other unit runs as it is. Wrapping is the same for every kind of unit.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::base::StepBase;
use super::conflict::MergeTree;
use super::isolated::{Isolated, TreeSource};
use super::scope::WriteScope;
use super::scoped::Scoped;
use super::setup::TreeSetup;
use crate::engine::spec::StepSpec;
use crate::engine::unit::{Unit, UnitError, UnitKey};
use crate::vocab::Isolation;

/// The trees of a run's units.
pub(in crate::engine) struct Trees {
    setup: Option<Arc<TreeSetup>>,
    /// Each isolated step's base, shared by its units.
    bases: Mutex<HashMap<usize, Arc<StepBase>>>,
}

/// Where a unit works: its step with `cwd` moved there, and how to wrap it.
pub(in crate::engine) struct Placement {
    step: StepSpec,
    wrap: Wrap,
}

enum Wrap {
    Isolated {
        setup: Arc<TreeSetup>,
        tree: TreeSource,
        name: String,
        scope: Option<WriteScope>,
    },
    Scoped {
        cwd: PathBuf,
        scope: WriteScope,
        name: String,
    },
}

impl Placement {
    /// The step as the unit must be made from (its `cwd` in its tree).
    pub fn step(&self) -> &StepSpec {
        &self.step
    }
}

impl Trees {
    pub fn new(setup: Option<TreeSetup>) -> Self {
        Self {
            setup: setup.map(Arc::new),
            bases: Mutex::new(HashMap::new()),
        }
    }

    /// Where unit `key` of `step` works; `within`: the merge tree a repair step works in.
    /// `None`: in its `cwd`, unwatched.
    pub fn place(
        &self,
        key: UnitKey,
        step: &StepSpec,
        within: Option<&MergeTree>,
    ) -> Result<Option<Placement>, UnitError> {
        let what = match key.index {
            Some(i) => format!("{}.{i}", step.id),
            None => step.id.clone(),
        };
        if within.is_none() && step.isolation == Isolation::None {
            return Ok(step.writes.as_ref().map(|w| self.scoped(step, w, what)));
        }
        let (setup, rel) = self.inside(step)?;
        let scope = step.writes.as_ref().map(|patterns| WriteScope {
            patterns: patterns.clone(),
            cwd: rel.clone(),
        });
        let tree = match within {
            Some(merge) => TreeSource::Merge(merge.clone()),
            None => TreeSource::New {
                base: self.base(key.step),
                path: setup.worktree(&what),
            },
        };
        let root = match &tree {
            TreeSource::Merge(merge) => merge.path.clone(),
            TreeSource::New { path, .. } => path.clone(),
        };
        let mut moved = step.clone();
        moved.cwd = root.join(rel);
        Ok(Some(Placement {
            step: moved,
            wrap: Wrap::Isolated {
                setup: setup.clone(),
                tree,
                name: what,
                scope,
            },
        }))
    }

    /// `unit` as `placement` says (as it is without one).
    pub fn wrap(
        &self,
        key: UnitKey,
        placement: Option<Placement>,
        unit: Box<dyn Unit>,
    ) -> Box<dyn Unit> {
        let Some(placement) = placement else {
            return unit;
        };
        match placement.wrap {
            Wrap::Isolated {
                setup,
                tree,
                name,
                scope,
            } => Box::new(Isolated {
                inner: unit,
                key,
                setup,
                tree,
                name,
                scope,
            }),
            Wrap::Scoped { cwd, scope, name } => Box::new(Scoped {
                inner: unit,
                key,
                setup: self.setup.clone(),
                cwd,
                scope,
                name,
            }),
        }
    }

    /// The setup of an isolated step, and its `cwd` relative to the repository's top
    /// level; an error outside a repository.
    fn inside(&self, step: &StepSpec) -> Result<(&Arc<TreeSetup>, PathBuf), UnitError> {
        let cwd = step.cwd.display();
        let setup = self
            .setup
            .as_ref()
            .filter(|s| s.repo.is_some())
            .ok_or_else(|| {
                UnitError::Tree(format!(
                    "`isolation: worktree` needs a git repository, and `{cwd}` is not in one"
                ))
            })?;
        let rel = setup.relative(&step.cwd).ok_or_else(|| {
            UnitError::Tree(format!(
                "the `cwd` of step `{}` (`{cwd}`) is outside the git repository",
                step.id
            ))
        })?;
        Ok((setup, rel))
    }

    /// Step `step`'s base, shared by its units (made for the first).
    fn base(&self, step: usize) -> Arc<StepBase> {
        let mut bases = self.bases.lock().unwrap_or_else(|e| e.into_inner());
        bases.entry(step).or_default().clone()
    }

    /// A step in the shared tree with `writes`: checked from the repository's top level
    /// in a git repository, else from its `cwd`.
    fn scoped(&self, step: &StepSpec, patterns: &[String], name: String) -> Placement {
        let rel = self
            .setup
            .as_ref()
            .filter(|s| s.repo.is_some())
            .and_then(|s| s.relative(&step.cwd));
        Placement {
            step: step.clone(),
            wrap: Wrap::Scoped {
                cwd: step.cwd.clone(),
                scope: WriteScope {
                    patterns: patterns.to_vec(),
                    cwd: rel.unwrap_or_default(),
                },
                name,
            },
        }
    }
}
