//! Process exit codes shared by every `weft` subcommand.

/// Every step succeeded (or was skipped by its `if`).
pub const EXIT_SUCCESS: i32 = 0;
/// A step failed.
pub const EXIT_STEP_FAILED: i32 = 1;
/// The workflow file, its inputs or the command line are invalid.
pub const EXIT_INVALID: i32 = 2;
/// The agent could not be reached or broke the protocol.
pub const EXIT_AGENT: i32 = 3;
/// The run was interrupted (Ctrl-C, SIGTERM).
pub const EXIT_INTERRUPTED: i32 = 130;
