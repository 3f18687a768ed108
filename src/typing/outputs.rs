//! The type of a workflow's `outputs`: the output of a step that calls it. An output
//! that is one `{{ expression }}` keeps the expression's type; any other template is a
//! string.

use super::catalog::Catalog;
use super::scope::Globals;
use super::ty::Type;
use super::walk::Checker;
use crate::workflow::Workflow;

/// The type of `workflow`'s outputs: an object with one property per output.
pub fn outputs_type(workflow: &Workflow) -> Type {
    let env = crate::template::environment();
    let catalog = Catalog::new(&env);
    let scope = Globals::new(workflow).scope();
    let fields = workflow.outputs.iter().map(|output| {
        let text = output.template.value.trim();
        let lone = text
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            .filter(|inner| !inner.contains("{{") && !inner.contains("}}"));
        let ty = match lone {
            Some(expr) => {
                let mut checker = Checker::new(&catalog, &scope, expr);
                minijinja::machinery::parse_expr(expr).map_or(Type::Unknown, |e| checker.expr(&e))
            }
            None => Type::String,
        };
        (output.name.value.as_str(), ty)
    });
    Type::object(fields)
}
