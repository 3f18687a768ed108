//! Loading a workflow for `weft validate`, `plan` and `run`: the loader's checks and the
//! plan ([`crate::plan::load`]), then the type-check; errors of both come back as one
//! [`LoadError`], warnings beside a workflow that is valid.

use std::path::Path;

use minijinja::Environment;

use super::check::check;
use crate::plan::{self, Plan};
use crate::workflow::{Diagnostics, LoadError, Workflow};

/// A workflow that passed every check, its plan, and the warnings it got.
#[derive(Debug)]
pub struct Checked {
    /// The workflow.
    pub workflow: Workflow,
    /// Its plan.
    pub plan: Plan,
    /// Warnings, in source order (none is an error).
    pub warnings: Diagnostics,
}

/// Load and plan the workflow at `path`, and type-check it against `env`, the environment
/// the engine renders with.
pub fn load(path: impl AsRef<Path>, env: &Environment<'static>) -> Result<Checked, LoadError> {
    let (workflow, plan) = plan::load(path)?;
    let mut diagnostics = check(&workflow, env);
    for diagnostic in plan::cache_diagnostics(&plan).0 {
        diagnostics.push(diagnostic);
    }
    diagnostics.sort();
    if diagnostics.errors() > 0 {
        return Err(LoadError::Invalid {
            source_file: workflow.source.clone(),
            diagnostics,
        });
    }
    Ok(Checked {
        workflow,
        plan,
        warnings: diagnostics,
    })
}

impl Checked {
    /// The warnings as text (empty when there is none).
    pub fn render_warnings(&self) -> String {
        self.warnings.render(&self.workflow.source)
    }
}
