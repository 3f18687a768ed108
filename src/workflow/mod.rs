//! The workflow file layer: source and spans, YAML parsing, the JSON Schema check, the
//! file model, lowering and semantic validation, and typed inputs.

mod approval_rules;
mod de;
pub mod diagnostic;
mod env_entry;
pub mod inputs;
mod load;
mod lower;
mod lower_kind;
pub mod model;
pub mod node;
pub mod parse;
mod raw;
pub mod refs;
pub mod schema;
pub mod secrets;
pub mod source;
pub mod spanned;
mod step_kind;
mod tree_checks;
mod tree_options;
mod validate;

pub use approval_rules::ApprovalRules;
pub use diagnostic::{Diagnostic, Diagnostics, JsonDiagnostic, Severity};
pub use load::{Checked, LoadError, check, check_str, load, load_str};
pub use model::{
    Gate, Input, InputType, Loop, Options, Output, Script, Step, StepKind, ThreadDef, ThreadRef,
    Until, Workflow,
};
pub use schema::WORKFLOW_SCHEMA;
pub use source::{Position, SourceFile, Span};
pub use spanned::Spanned;
pub use tree_options::TreeOptions;
