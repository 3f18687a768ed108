//! The pieces a workflow composes itself from: a step's `prompt_file`, a step that
//! `uses` another workflow file (its `with` inputs), and the named `pools` steps share.
//! Their types, and how the raw file becomes them (sub-workflows load in [`super::calls`]).

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::lower::{Context, lower_io};
use super::model::Workflow;
use super::raw::RawStep;
use super::source::SourceFile;
use super::spanned::{Entries, Spanned};

/// A step's `prompt_file`: the path as written, and the file (the prompt's spans are in it).
#[derive(Debug, Clone)]
pub struct PromptFile {
    /// The path as written, relative to the workflow file.
    pub path: Spanned<String>,
    /// The file read.
    pub source: Arc<SourceFile>,
}

/// A step with `uses`: the workflow file it runs and the inputs it gives it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The path as written, relative to the workflow file.
    pub uses: Spanned<String>,
    /// `with`: each input's name and value.
    pub with: Vec<(Spanned<String>, WithValue)>,
    /// The called workflow, loaded and checked (its steps become this step's parts).
    pub workflow: Option<Arc<Workflow>>,
}

/// A value of `with`: a string is a template (rendered when the step starts; a lone
/// `{{ expression }}` keeps its JSON type), anything else is the value itself.
#[derive(Debug, Clone)]
pub enum WithValue {
    /// A template.
    Template(Spanned<String>),
    /// A value written as it is.
    Literal(Spanned<Value>),
}

impl WithValue {
    /// Where it is written.
    pub fn span(&self) -> super::source::Span {
        match self {
            WithValue::Template(t) => t.span,
            WithValue::Literal(v) => v.span,
        }
    }
}

impl Call {
    /// The `with` value given for input `name`.
    pub fn input(&self, name: &str) -> Option<&WithValue> {
        self.with
            .iter()
            .find(|(n, _)| n.value == name)
            .map(|(_, v)| v)
    }
}

/// A named pool: at most `size` of the steps that name it run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Its name.
    pub name: Spanned<String>,
    /// How many of its steps may run at once.
    pub size: u32,
}

/// The keys of a step that only a turn has: a step with `uses` must not set them.
const TURN_KEYS: &[&str] = &[
    "prompt",
    "prompt_file",
    "output_schema",
    "thread",
    "fork",
    "resume",
    "model",
    "effort",
    "approval",
    "sandbox",
    "approvals",
    "cwd",
    "timeout",
    "retries",
    "max_tokens",
    "for_each",
    "as",
    "max_parallel",
    "developer_instructions",
    "config",
    "network",
    "pool",
    "run",
    "shell",
    "env",
    "output",
    "gate",
    "loop",
    "isolation",
    "writes",
    "on_conflict",
];

/// Reads `prompt_file` for step `id`: the prompt's text, and the file it came from.
pub fn lower_prompt_file(
    id: &str,
    path: Spanned<String>,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) -> Option<PromptFile> {
    let full = cx.base_dir.join(&path.value);
    match read_regular(&full) {
        Ok(text) => Some(PromptFile {
            source: Arc::new(SourceFile::new(shown(cx.base_dir, &path.value), text)),
            path,
        }),
        Err(error) => {
            out.push(
                Diagnostic::new(
                    path.span,
                    format!(
                        "cannot read `prompt_file` of step `{id}`, `{}`: {}",
                        path.value,
                        lower_io(&error)
                    ),
                )
                .with_help(format!(
                    "paths are relative to the workflow file; looked for `{}`",
                    full.display()
                )),
            );
            None
        }
    }
}

/// The most a file a workflow reads (a prompt file, a called workflow) may hold.
const MAX_FILE: u64 = 4 << 20;

/// Reads a regular file of at most 4 MiB as text: never a device, a pipe or a directory,
/// which could block or never end.
pub fn read_regular(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(std::io::Error::other("larger than 4 MiB"));
    }
    std::fs::read_to_string(path)
}

/// How a file next to the workflow is named in messages: its path from where weft runs.
pub fn shown(base_dir: &Path, relative: &str) -> std::path::PathBuf {
    if base_dir == Path::new(".") {
        relative.into()
    } else {
        base_dir.join(relative)
    }
}

/// Checks which of `prompt`, `prompt_file` and `uses` step `id` has: exactly one.
pub fn check_step_kind(
    id: &Spanned<String>,
    raw: &RawStep,
    cx: &Context<'_>,
    out: &mut Diagnostics,
) {
    if let Some(uses) = &raw.uses {
        let node = step_node(cx, &id.value);
        for key in TURN_KEYS {
            if let Some((k, _)) = node
                .and_then(|n| n.entry(key))
                .map(|(k, v)| (k.span, v.span))
            {
                out.push(
                    Diagnostic::new(k, format!("`{key}` does not apply to a step with `uses`"))
                        .with_help(format!(
                            "step `{}` runs the steps of `{}`; set `{key}` on those steps",
                            id.value, uses.value
                        )),
                );
            }
        }
        return;
    }
    let with = raw
        .with
        .as_ref()
        .and_then(|_| step_node(cx, &id.value)?.entry("with"));
    if let Some(with) = with.map(|(k, v)| (k.span, v.span)) {
        out.push(
            Diagnostic::new(with.0, "`with` only applies to a step with `uses`")
                .with_help("`with` gives the inputs of the workflow a step `uses`"),
        );
    }
    if let (Some(prompt), Some(_)) = (&raw.prompt, &raw.prompt_file) {
        out.push(
            Diagnostic::new(
                prompt.span,
                format!("step `{}` sets both `prompt` and `prompt_file`", id.value),
            )
            .with_help("keep one: the prompt is written here, or read from the file"),
        );
    }
}

/// The mapping of step `id` as written.
fn step_node<'a>(cx: &'a Context<'_>, id: &str) -> Option<&'a super::node::Node> {
    Some(cx.root.entry("steps")?.1.entry(id)?.1)
}

/// `pools`: each a name and a size (the schema asks for at least 1).
pub fn lower_pools(raw: Entries<Spanned<u32>>) -> Vec<Pool> {
    raw.0
        .into_iter()
        .map(|(name, size)| Pool {
            name,
            size: size.value.max(1),
        })
        .collect()
}
