//! Which filters, tests, functions and templates exist: asked of the minijinja
//! environment the engine renders with (`'name' is filter`, `'name' is test`, its
//! globals, its loader), so the check cannot drift from what a run can call.

use std::cell::RefCell;
use std::collections::HashMap;

use minijinja::{Environment, context};

use crate::workflow::TemplateFiles;

/// minijinja's built-in filters and weft's own: the names a misspelling is compared with
/// (only those the environment really has are ever suggested).
const FILTER_NAMES: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "shell_quote",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
];

/// minijinja's built-in tests.
const TEST_NAMES: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// What the environment offers, with each answer cached.
pub struct Catalog<'e> {
    env: &'e Environment<'static>,
    filters: RefCell<HashMap<String, bool>>,
    tests: RefCell<HashMap<String, bool>>,
    functions: Vec<String>,
    files: Option<&'e TemplateFiles>,
}

impl<'e> Catalog<'e> {
    /// The catalog of `env`.
    pub fn new(env: &'e Environment<'static>) -> Self {
        let functions = env.globals().map(|(name, _)| name.to_string()).collect();
        Catalog {
            env,
            filters: RefCell::default(),
            tests: RefCell::default(),
            functions,
            files: None,
        }
    }

    /// The same catalog, whose templates are the workflow's template files.
    pub fn with_files(mut self, files: &'e TemplateFiles) -> Self {
        self.files = Some(files);
        self
    }

    /// The text of template file `name`, as it was read when the workflow was checked.
    pub fn template_text(&self, name: &str) -> Option<&'e str> {
        self.files?.get(name).map(|f| f.text.as_str())
    }

    /// The environment itself.
    pub fn env(&self) -> &'e Environment<'static> {
        self.env
    }

    /// Whether filter `name` exists.
    pub fn filter(&self, name: &str) -> bool {
        self.probe(&self.filters, name, "name is filter")
    }

    /// Whether test `name` exists.
    pub fn test(&self, name: &str) -> bool {
        self.probe(&self.tests, name, "name is test")
    }

    /// Whether function `name` exists (a global of the environment).
    pub fn function(&self, name: &str) -> bool {
        self.functions.iter().any(|f| f == name)
    }

    /// Whether `{% include name %}` finds a template.
    pub fn template(&self, name: &str) -> bool {
        self.template_text(name).is_some() || self.env.get_template(name).is_ok()
    }

    /// The existing filters a misspelled `name` may be compared with.
    pub fn filter_names(&self) -> Vec<&'static str> {
        FILTER_NAMES
            .iter()
            .copied()
            .filter(|n| self.filter(n))
            .collect()
    }

    /// The existing tests a misspelled `name` may be compared with.
    pub fn test_names(&self) -> Vec<&'static str> {
        TEST_NAMES
            .iter()
            .copied()
            .filter(|n| self.test(n))
            .collect()
    }

    /// The functions, for suggestions.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.iter().map(String::as_str)
    }

    fn probe(&self, cache: &RefCell<HashMap<String, bool>>, name: &str, code: &str) -> bool {
        if let Some(known) = cache.borrow().get(name) {
            return *known;
        }
        let exists = self
            .env
            .compile_expression(code)
            .and_then(|e| e.eval(context! { name }))
            .is_ok_and(|v| v.is_true());
        cache.borrow_mut().insert(name.to_string(), exists);
        exists
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_the_environment() {
        let mut env = crate::template::environment();
        env.add_filter("shout", |s: String| s.to_uppercase());
        let catalog = Catalog::new(&env);
        assert!(catalog.filter("length") && catalog.filter("shout"));
        assert!(!catalog.filter("lenght"));
        assert!(catalog.test("defined") && !catalog.test("definde"));
        assert!(catalog.function("range") && !catalog.function("rnage"));
        assert!(!catalog.template("missing.md"));
        assert!(catalog.filter_names().contains(&"length"));
        assert!(catalog.filter_names().contains(&"tojson"));
        assert!(catalog.filter_names().contains(&"shell_quote"));
    }
}
