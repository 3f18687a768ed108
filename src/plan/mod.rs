//! The execution plan: the step DAG (from `needs`, `steps.X` references, named-thread
//! order and forks), its levels and critical path, each step's effective policies, and
//! renderers for `weft plan`.

mod build;
mod cache_checks;
mod edges;
mod eligible;
mod flat;
mod load;
mod policies;
mod render;
mod repairs;

pub use build::{Dependency, EdgeKind, Plan, PlannedStep, ThreadPlan};
pub use cache_checks::{cache_diagnostics, eligibility};
pub use eligible::Eligible;
pub use flat::PlanScope;
pub use load::{load, load_str};
pub use policies::Policies;
pub use render::{Format, render};
