//! The static type-check of a workflow's templates and expressions, run by `weft
//! validate` (and so by `plan` and `run`): a type model inferred from input declarations,
//! output schemas and step results ([`ty`], [`scope`], [`schema`]), a walker over
//! minijinja's AST ([`walk`], [`expr`], [`compare`]), a render of every template with
//! sample values ([`sample`], [`render`]), and the strict-mode lint of output schemas.

mod catalog;
mod check;
mod compare;
mod expr;
mod filters;
mod load;
pub mod locate;
mod outputs;
pub mod render;
pub mod sample;
pub mod schema;
pub mod scope;
mod secret_use;
mod strict;
pub mod ty;
pub mod walk;

pub use check::check;
pub use load::{Checked, load};
pub use locate::ScalarMap;
pub use ty::Type;
