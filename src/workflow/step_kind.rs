//! What a step is — a turn of the agent (`prompt`), a script weft runs (`run`), or a
//! person's answer (`gate`) — and the `loop:` that repeats a turn or a script, as the
//! loaded workflow holds them.

use super::spanned::Spanned;
use crate::vocab::{LoopThread, OnMax, OutputFormat};

/// The kind of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// A turn of the agent: the step's `prompt`.
    Turn,
    /// A script weft runs itself.
    Script(Script),
    /// A question a person answers.
    Gate(Gate),
}

impl StepKind {
    /// `turn`, `script` or `gate`: how messages and `weft plan` name the kind.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Turn => "turn",
            StepKind::Script(_) => "script",
            StepKind::Gate(_) => "gate",
        }
    }

    /// The script, for a script step.
    pub fn script(&self) -> Option<&Script> {
        match self {
            StepKind::Script(script) => Some(script),
            _ => None,
        }
    }

    /// The gate, for a gate step.
    pub fn gate(&self) -> Option<&Gate> {
        match self {
            StepKind::Gate(gate) => Some(gate),
            _ => None,
        }
    }
}

/// `run:`: a script, never a template (values reach it only through `env:`).
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The script's text, as written.
    pub run: Spanned<String>,
    /// What its output is made of.
    pub output: OutputFormat,
}

/// `gate:`: the question, a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The question asked.
    pub question: Spanned<String>,
}

/// `loop:`: repeat the step until a condition holds, at most `max_iterations` times.
#[derive(Debug, Clone, PartialEq)]
pub struct Loop {
    /// Where `loop:` is written.
    pub span: super::source::Span,
    /// At most this many iterations.
    pub max_iterations: u32,
    /// What ends the loop.
    pub until: Until,
    /// Whether a looping turn's iterations continue one conversation.
    pub thread: LoopThread,
    /// What reaching `max_iterations` does.
    pub on_max: OnMax,
}

/// The condition that ends a loop, checked after each iteration that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub enum Until {
    /// `until`: an expression over the iteration's `output`, `iteration` and `steps`.
    Expression(Spanned<String>),
    /// `until_run`: a script whose exit code 0 ends the loop (not a template).
    Run(Spanned<String>),
}
