//! The workflow file exactly as written: serde types with spans, `deny_unknown_fields`,
//! no `untagged`/`flatten`. The loader checks the file against the JSON Schema first, so
//! these types mostly restate it; [`lower`](super::lower) turns them into the model.

use serde::Deserialize;
use serde_json::Value;

use super::approval_rules::ApprovalRules;
use super::env_entry::RawEnvEntry;
use super::spanned::{Entries, Spanned};
use crate::vocab::{
    Approval, Environment, Isolation, Join, LoopThread, OnMax, OutputFormat, Sandbox,
};

/// The top level of a workflow file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkflow {
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    #[serde(default)]
    pub env: Vec<Spanned<RawEnvEntry>>,
    pub max_tokens: Option<Spanned<u64>>,
    #[serde(default)]
    pub inputs: Entries<RawInput>,
    pub defaults: Option<RawOptions>,
    #[serde(default)]
    pub threads: Entries<RawOptions>,
    pub steps: Entries<RawStep>,
    #[serde(default)]
    pub outputs: Entries<Spanned<String>>,
    #[serde(default)]
    pub pools: Entries<Spanned<u32>>,
}

/// The declared type of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// A string.
    String,
    /// An integer.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
    /// One of `values`.
    Enum,
}

impl InputType {
    /// The spelling in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Integer => "integer",
            InputType::Number => "number",
            InputType::Boolean => "boolean",
            InputType::Array => "array",
            InputType::Object => "object",
            InputType::Enum => "enum",
        }
    }

    /// True when `value` has this type (for `enum`: is one of `values`).
    pub fn accepts(self, value: &Value, values: &[Value]) -> bool {
        match self {
            InputType::String => value.is_string(),
            InputType::Integer => value.is_i64() || value.is_u64(),
            InputType::Number => value.is_number(),
            InputType::Boolean => value.is_boolean(),
            InputType::Array => value.is_array(),
            InputType::Object => value.is_object(),
            InputType::Enum => values.contains(value),
        }
    }
}

/// One entry of `inputs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    #[serde(rename = "type")]
    pub ty: Spanned<InputType>,
    pub description: Option<String>,
    pub default: Option<Spanned<Value>>,
    pub required: Option<bool>,
    pub values: Option<Spanned<Vec<Value>>>,
    pub secret: Option<Spanned<bool>>,
}

/// `defaults` and each entry of `threads`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptions {
    pub model: Option<Spanned<String>>,
    /// An effort, or a template over `inputs` giving one.
    pub effort: Option<Spanned<String>>,
    pub approval: Option<Approval>,
    pub sandbox: Option<Sandbox>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<u32>,
    pub cwd: Option<String>,
    pub approvals: Option<ApprovalRules>,
    pub max_tokens: Option<u64>,
    pub developer_instructions: Option<Spanned<String>>,
    pub config: Option<Spanned<Value>>,
    pub network: Option<Spanned<bool>>,
    pub isolation: Option<Spanned<Isolation>>,
    pub writes: Option<Spanned<Vec<String>>>,
    pub environment: Option<Environment>,
    pub cache: Option<Spanned<bool>>,
    pub reads: Option<Spanned<Vec<String>>>,
}

/// One entry of `steps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub description: Option<String>,
    /// A turn's prompt; `None` for a script or a gate, or with `prompt_file` or `uses` (the
    /// schema and the loader check that a turn has one).
    pub prompt: Option<Spanned<String>>,
    #[serde(default)]
    pub needs: Vec<Spanned<String>>,
    pub thread: Option<Spanned<String>>,
    pub fork: Option<Spanned<String>>,
    pub resume: Option<Spanned<String>>,
    pub output_schema: Option<Spanned<Value>>,
    pub model: Option<Spanned<String>>,
    pub effort: Option<Spanned<String>>,
    pub approval: Option<Approval>,
    pub sandbox: Option<Sandbox>,
    pub approvals: Option<ApprovalRules>,
    pub cwd: Option<String>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<u32>,
    pub max_tokens: Option<u64>,
    #[serde(rename = "if")]
    pub if_expr: Option<Spanned<String>>,
    pub for_each: Option<Spanned<String>>,
    #[serde(rename = "as")]
    pub as_name: Option<Spanned<String>>,
    pub max_parallel: Option<Spanned<u32>>,
    pub continue_on_error: Option<bool>,
    pub fail_if: Option<Spanned<String>>,
    // Step kinds beyond a turn, and loops (see `step_kind`).
    pub run: Option<Spanned<String>>,
    pub shell: Option<Spanned<Value>>,
    pub env: Option<Spanned<Entries<Spanned<String>>>>,
    pub output: Option<Spanned<OutputFormat>>,
    pub gate: Option<Spanned<String>>,
    #[serde(rename = "loop")]
    pub looping: Option<Spanned<RawLoop>>,
    pub isolation: Option<Spanned<Isolation>>,
    pub writes: Option<Spanned<Vec<String>>>,
    pub on_conflict: Option<Spanned<String>>,
    pub prompt_file: Option<Spanned<String>>,
    pub uses: Option<Spanned<String>>,
    pub with: Option<Entries<Spanned<Value>>>,
    pub developer_instructions: Option<Spanned<String>>,
    pub config: Option<Spanned<Value>>,
    pub network: Option<Spanned<bool>>,
    pub join: Option<Spanned<Join>>,
    pub pool: Option<Spanned<String>>,
    pub environment: Option<Environment>,
    pub cache: Option<Spanned<bool>>,
    pub reads: Option<Spanned<Vec<String>>>,
}

/// `loop:` of a step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoop {
    /// Required (the schema says so); optional here so that the rest is still checked
    /// when the value is wrong.
    pub max_iterations: Option<Spanned<u32>>,
    pub until: Option<Spanned<String>>,
    pub until_run: Option<Spanned<String>>,
    pub thread: Option<Spanned<LoopThread>>,
    pub on_max: Option<OnMax>,
}
