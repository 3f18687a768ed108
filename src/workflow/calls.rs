//! Sub-workflows: a step `uses: ./lint.yaml` loads and checks that file (once, however
//! many steps call it) as a workflow of its own; a chain of files that calls itself is an
//! error naming the chain. The called file's problems are reported in that file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::compose::{Call, WithValue, read_regular};
use super::diagnostic::{Diagnostic, Diagnostics, suggest};
use super::load::check_in;
use super::lower::{Context, lower_io};
use super::model::Workflow;
use super::spanned::{Entries, Spanned};

/// How deep calls may nest (a guard beside the cycle check).
const MAX_DEPTH: usize = 16;

/// The files being loaded, outermost first, and those loaded already.
#[derive(Debug, Default)]
pub struct Calls {
    /// The chain of files now being loaded: normalized absolute path, and as shown.
    stack: RefCell<Vec<(PathBuf, String)>>,
    /// Every file loaded, by normalized absolute path (`None`: it could not be built).
    loaded: RefCell<HashMap<PathBuf, Option<Arc<Workflow>>>>,
    /// Their problems, reported once per file.
    problems: RefCell<HashMap<PathBuf, Diagnostics>>,
}

impl Calls {
    /// The loader of a workflow file at `path` (the top of every chain).
    pub fn new(path: &Path) -> Self {
        let calls = Calls::default();
        calls
            .stack
            .borrow_mut()
            .push((normal(path), path.display().to_string()));
        calls
    }

    /// Loads the workflow a step calls: `uses` relative to the calling file; its problems
    /// (and a cycle) go to `out`.
    pub fn load(
        &self,
        uses: &Spanned<String>,
        cx: &Context<'_>,
        out: &mut Diagnostics,
    ) -> Option<Arc<Workflow>> {
        let path = lexical(&cx.base_dir.join(&uses.value));
        let key = normal(&path);
        let chain = self
            .stack
            .borrow()
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>();
        if chain.contains(&key) {
            out.push(self.cycle(uses, &key, &path));
            return None;
        }
        if chain.len() >= MAX_DEPTH {
            out.error(
                uses.span,
                format!("sub-workflows nest deeper than {MAX_DEPTH} files"),
            );
            return None;
        }
        if let Some(done) = self.loaded.borrow().get(&key) {
            out.extend(
                self.problems
                    .borrow()
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
                    .0,
            );
            return done.clone();
        }
        self.load_file(uses, &path, key, out)
    }

    /// Reads and checks a file not loaded yet, remembering it and its problems.
    fn load_file(
        &self,
        uses: &Spanned<String>,
        path: &Path,
        key: PathBuf,
        out: &mut Diagnostics,
    ) -> Option<Arc<Workflow>> {
        if let Err(error) = read_regular(path) {
            out.push(
                Diagnostic::new(
                    uses.span,
                    format!("cannot read `{}`: {}", uses.value, lower_io(&error)),
                )
                .with_help(format!(
                    "`uses` names a workflow file, relative to this one; looked for `{}`",
                    path.display()
                )),
            );
            return None;
        }
        self.stack
            .borrow_mut()
            .push((key.clone(), path.display().to_string()));
        let checked = check_in(path, self);
        self.stack.borrow_mut().pop();
        let (workflow, problems) = match checked {
            Ok(checked) => {
                let problems = checked.diagnostics.in_file(&checked.source);
                (checked.workflow.map(Arc::new), problems)
            }
            Err(error) => {
                let mut problems = Diagnostics::default();
                problems.push(
                    Diagnostic::new(uses.span, format!("cannot load `{}`: {error}", uses.value))
                        .with_help("`uses` names a workflow file, relative to this one"),
                );
                (None, problems)
            }
        };
        out.extend(problems.0.clone());
        self.problems.borrow_mut().insert(key.clone(), problems);
        self.loaded.borrow_mut().insert(key, workflow.clone());
        workflow
    }

    fn cycle(&self, uses: &Spanned<String>, key: &Path, path: &Path) -> Diagnostic {
        let stack = self.stack.borrow();
        let from = stack.iter().position(|(k, _)| k == key).unwrap_or(0);
        let mut names: Vec<String> = stack[from..]
            .iter()
            .map(|(_, shown)| format!("`{shown}`"))
            .collect();
        names.push(format!("`{}`", path.display()));
        Diagnostic::new(
            uses.span,
            format!("sub-workflow cycle: {}", names.join(" → ")),
        )
        .with_help("a workflow cannot call itself, directly or through the files it calls")
    }
}

/// The `with` of a step that calls `callee`: every name is one of its inputs, every
/// required input is given, and a value that is not a template has the input's type.
pub fn check_with(id: &str, call: &Call, callee: &Workflow, out: &mut Diagnostics) {
    for (name, value) in &call.with {
        let Some(input) = callee.input(&name.value) else {
            let names = callee.inputs.iter().map(|i| i.name.value.as_str());
            let hint = suggest(&name.value, names);
            out.push(
                Diagnostic::new(
                    name.span,
                    format!("`{}` has no input `{}`{hint}", call.uses.value, name.value),
                )
                .with_help(inputs_help(callee)),
            );
            continue;
        };
        let WithValue::Literal(value) = value else {
            continue;
        };
        if !input.ty.accepts(&value.value, &input.values) {
            out.error(
                value.span,
                format!(
                    "input `{}` of `{}` is {}, and `{}` is not",
                    name.value,
                    call.uses.value,
                    input.ty.as_str(),
                    value.value
                ),
            );
        }
    }
    for input in &callee.inputs {
        if input.required && input.default.is_none() && call.input(&input.name.value).is_none() {
            out.push(
                Diagnostic::new(
                    call.uses.span,
                    format!(
                        "step `{id}` does not give `{}` its required input `{}`",
                        call.uses.value, input.name.value
                    ),
                )
                .with_help(format!("add `with: {{ {}: ... }}`", input.name.value)),
            );
        }
    }
}

fn inputs_help(callee: &Workflow) -> String {
    if callee.inputs.is_empty() {
        return "it declares no inputs".into();
    }
    let names: Vec<String> = callee
        .inputs
        .iter()
        .map(|i| format!("`{}`", i.name.value))
        .collect();
    format!("its inputs are {}", names.join(", "))
}

/// The `with` entries as written: strings are templates.
pub fn lower_with(with: Option<Entries<Spanned<Value>>>) -> Vec<(Spanned<String>, WithValue)> {
    let entries = with.map(|w| w.0).unwrap_or_default();
    entries
        .into_iter()
        .map(|(name, value)| {
            let value = match value.value {
                Value::String(text) => WithValue::Template(Spanned::new(text, value.span)),
                other => WithValue::Literal(Spanned::new(other, value.span)),
            };
            (name, value)
        })
        .collect()
}

/// `path` made absolute and normalized, to recognise one file however it is reached.
fn normal(path: &Path) -> PathBuf {
    lexical(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// `path` without `.` components, and `..` applied to what precedes it.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
