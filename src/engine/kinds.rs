//! What a step's units are, beyond a turn: a script weft runs, a gate a person answers;
//! and the loop that repeats a turn or a script. The executable form of
//! [`crate::workflow::StepKind`] and [`crate::workflow::Loop`].

use serde::{Deserialize, Serialize};

use crate::vocab::{LoopThread, OnMax, OutputFormat};

/// The kind of a step's units.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum UnitKind {
    /// A turn of the agent on the step's prompt.
    #[default]
    Turn,
    /// A script weft runs.
    Script(ScriptSpec),
    /// A question a person answers.
    Gate(GateSpec),
}

impl UnitKind {
    /// The kind as events and records name it.
    pub fn name(&self) -> Kind {
        match self {
            UnitKind::Turn => Kind::Turn,
            UnitKind::Script(_) => Kind::Script,
            UnitKind::Gate(_) => Kind::Gate,
        }
    }
}

/// A step's kind in events and records: `turn`, `script` or `gate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Turn,
    Script,
    Gate,
}

impl Kind {
    /// Whether this is a turn (events leave the kind out then).
    pub fn is_turn(&self) -> bool {
        *self == Kind::Turn
    }

    /// `turn`, `script` or `gate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Turn => "turn",
            Kind::Script => "script",
            Kind::Gate => "gate",
        }
    }
}

/// A script step: its text (never rendered) and what its output is.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSpec {
    pub run: String,
    pub output: OutputFormat,
}

/// A gate step: its question (a template).
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    pub question: String,
}

/// A `loop:`: repeat the step's unit until `until` holds, at most `max_iterations` times.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSpec {
    pub max_iterations: u32,
    pub until: UntilSpec,
    pub thread: LoopThread,
    pub on_max: OnMax,
}

/// What ends a loop, checked after every iteration that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub enum UntilSpec {
    /// An expression over `output`, `iteration` and the run's context.
    Expression(String),
    /// A script (never rendered) whose exit code 0 ends the loop.
    Run(String),
}

/// A person's answer to a gate: given before the run (`--approve STEP`, `--reject STEP`)
/// or asked on a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateAnswer {
    pub approved: bool,
    /// The reply text; with an `output_schema`, JSON that must match it.
    pub reply: Option<String>,
}
