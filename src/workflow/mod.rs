//! The workflow file layer: source and spans, YAML parsing, the JSON Schema check, the
//! file model, lowering and semantic validation, and typed inputs.

mod agent_options;
mod approval_rules;
mod cache_options;
mod calls;
pub mod codex_config;
mod compose;
mod compose_checks;
mod de;
pub mod diagnostic;
mod env_entry;
pub mod inputs;
mod load;
mod lower;
mod lower_kind;
mod merge;
pub mod model;
pub mod node;
pub mod parse;
mod raw;
pub mod refs;
pub mod schema;
mod schema_file;
mod schema_messages;
pub mod secrets;
pub mod source;
pub mod spanned;
mod step_kind;
pub mod templates;
mod tree_checks;
mod tree_options;
mod validate;

pub use approval_rules::ApprovalRules;
pub use cache_options::CacheOptions;
pub use compose_checks::policy_templates;
pub use diagnostic::{Diagnostic, Diagnostics, JsonDiagnostic, Severity};
pub use load::{Checked, LoadError, check, check_str, load, load_str};
pub use model::{
    Call, Gate, Input, InputType, Loop, Options, Output, Pool, PromptFile, Script, Step, StepKind,
    TemplateFiles, ThreadDef, ThreadRef, Until, WithValue, Workflow,
};
pub use schema::WORKFLOW_SCHEMA;
pub use source::{Position, SourceFile, Span};
pub use spanned::Spanned;
pub use tree_options::TreeOptions;
