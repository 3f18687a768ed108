//! What `weft run` checks before it starts the agent: the `model` and `effort` templates
//! of the run's own steps rendered with the real inputs, as their units will render
//! them, so that a wrong value stops the run before any turn.

use super::context::scope_context;
use super::spec::RunSpec;
use super::turn::render_policies;
use crate::template::Renderer;

/// Renders the templated policies of every step of the run's own workflow; the first
/// that fails, as `step `a`: …`.
pub fn check_policies(spec: &RunSpec) -> Result<(), String> {
    let sources = spec.scopes.iter().map(|s| s.templates.clone()).collect();
    let renderer = Renderer::with_sources(sources);
    let context = scope_context(spec, 0, &spec.inputs, std::iter::empty());
    for step in spec.steps.iter().filter(|s| s.scope == 0) {
        if step.model_template.is_none() && step.effort_template.is_none() {
            continue;
        }
        render_policies(step, &renderer, &context)
            .map_err(|e| format!("step `{}`: {e}", step.id))?;
    }
    Ok(())
}
