//! The environment every workflow template is compiled and rendered in.

use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use super::files::{TemplateSource, read_template};
use super::filters;

/// The environment every workflow template is compiled in: strict undefined (reading what
/// does not exist is an error), no escaping, trailing newlines kept, weft's filters. It
/// has no template files: `{% include %}` finds nothing (see [`environment_with`]).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(|_| AutoEscape::None);
    filters::add(&mut env);
    env
}

/// [`environment`] whose `{% include %}`, `{% import %}` and `{% from %}` read the template
/// files of `source`: the files as they were checked, else (a name computed at run time)
/// the file under its root, never a path that leaves the root.
pub fn environment_with(source: Arc<TemplateSource>) -> Environment<'static> {
    let mut env = environment();
    env.set_loader(move |name| {
        if let Some(text) = source.files.get(name) {
            return Ok(Some(text.clone()));
        }
        match read_template(&source.root, name) {
            Ok(text) => Ok(Some(text)),
            Err(super::TemplateFileError::Missing) => Ok(None),
            Err(other) => Err(Error::new(ErrorKind::InvalidOperation, other.to_string())),
        }
    });
    env
}
