//! Templates and expressions: one minijinja environment (strict undefined, no escaping,
//! weft's filters), a loader of template files rooted at a workflow file's directory, and
//! the [`Renderer`] the engine renders with. Used to check every template of a workflow
//! when it loads and to render them at run time.
//!
//! Context (built by the engine): `inputs`, `steps.<id>.{output,status,thread_id,usage}`,
//! the `for_each` element (named by `as`) and `loop.{index,index0,length}`, `workflow.name`,
//! `run.id` and `run.dir`, `env.<NAME>` for the allow-listed names. Model output is data:
//! it is passed in the context as values and never compiled.

mod environment;
mod files;
mod filters;
mod renderer;

pub use environment::{environment, environment_with};
pub use files::{TemplateFileError, TemplateSource, read_template};
pub use renderer::{Renderer, TemplateError};
