//! `cache` and `reads`, as `defaults` and a step write them: whether a step's results are
//! kept in the result cache and served again, and which files it reads (the part of the
//! working tree its cache key covers; default: all of it).

use super::spanned::Spanned;

/// A step's cache options; each one replaces the inherited one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheOptions {
    /// `cache`: keep and serve the step's results.
    pub cache: Option<Spanned<bool>>,
    /// `reads`: glob patterns over the files the step reads, relative to its `cwd`.
    pub reads: Option<Spanned<Vec<String>>>,
}

impl CacheOptions {
    /// Field by field, `over` wins where it says something.
    pub fn overlay(&self, over: &CacheOptions) -> CacheOptions {
        CacheOptions {
            cache: over.cache.clone().or_else(|| self.cache.clone()),
            reads: over.reads.clone().or_else(|| self.reads.clone()),
        }
    }

    /// Whether the step asks to be cached.
    pub fn enabled(&self) -> bool {
        self.cache.as_ref().is_some_and(|c| c.value)
    }
}

impl super::model::Workflow {
    /// The effective `cache` and `reads` of `step` (`defaults`, then the step).
    pub fn cache_options(&self, step: &super::model::Step) -> CacheOptions {
        self.defaults.cache.overlay(&step.options.cache)
    }
}
