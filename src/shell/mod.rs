//! Shell scripts as weft reads them to decide approvals: the simple commands a script
//! can run, the literal text of each word, and the commands that run other commands.

mod command;
mod limits;
mod options;
mod script;
mod unclear;
mod word;
mod wrapper;

pub use command::{Command, Word};
pub use limits::{MAX_COMPOUNDS, MAX_SCRIPT_BYTES, MAX_SUBSTITUTIONS};
pub use script::{argv, commands};
pub use unclear::Unclear;
pub use word::{literal, quote};
pub use wrapper::{Runs, classify};
