//! Answers the agent's approval requests from a step's declarative `approvals` rules.
//!
//! The rule is "never approve more than the workflow allows", decided on what will run:
//! - a command is decided on the request's `command` (the argument list codex runs,
//!   never its display summary `commandActions`); a shell wrapper (`bash -lc SCRIPT`) is
//!   looked through and SCRIPT is parsed (brush-parser) into its simple commands;
//! - every simple command must match a command pattern (`*` any run of characters, `?`
//!   one character), written back canonically (see [`crate::shell::Command::text`]);
//!   a command with a redirection to a file only by an exact pattern (no wildcard);
//! - what cannot be reduced to simple commands of literal words is declined, unless an
//!   exact pattern equals the whole script; commands that run other commands follow
//!   [`crate::shell::classify`];
//! - a file change is approved only when every path, normalized and with symlinks
//!   resolved, matches a file glob: relative globs within the working directory,
//!   absolute globs anywhere;
//! - with no rules, or anything unknown, the answer is decline.

mod check;
mod files;

use std::path::{Path, PathBuf};

use crate::vocab::Glob;

/// A step's approval rules, compiled.
#[derive(Debug, Clone, Default)]
pub struct ApprovalRules {
    commands: Vec<Glob>,
    files: Vec<Glob>,
}

/// What weft answered, and why (the reason is logged and reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub approved: bool,
    pub reason: String,
}

impl Verdict {
    fn accept(reason: String) -> Self {
        Self {
            approved: true,
            reason,
        }
    }

    fn decline(reason: String) -> Self {
        Self {
            approved: false,
            reason,
        }
    }
}

/// How much of a command the reports show.
const SHOWN_CHARS: usize = 300;

/// The stack of the thread that checks a command: the parser recurses.
const CHECK_STACK: usize = 16 << 20;

impl ApprovalRules {
    pub fn new(commands: &[String], files: &[String]) -> Self {
        Self {
            commands: commands.iter().map(|p| Glob::command(p.trim())).collect(),
            files: files.iter().map(|p| Glob::path(p.trim())).collect(),
        }
    }

    /// True when no request can ever be approved.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.files.is_empty()
    }

    /// Decides a command approval on the request's `command`: the argument list codex
    /// will run, quoted (`/bin/bash -lc 'cargo test && ls'`).
    pub fn decide_command(&self, command: &str) -> Verdict {
        self.decide(|check| check.argv_line(command))
    }

    /// Decides an `item/commandExecution/requestApproval` from its params: on its
    /// `command`, never on `commandActions` (a summary made for display). A request for
    /// network access, for anything but running a command, or to run outside the step's
    /// working directory `cwd` is declined. Also returns the command that runs, as
    /// reports show it.
    pub fn decide_command_request(
        &self,
        params: &serde_json::Value,
        cwd: &Path,
    ) -> (String, Verdict) {
        let command = params["command"].as_str().unwrap_or_default();
        let shown = shown_command(command);
        if let Some(dir) = params["cwd"].as_str() {
            if let Err(reason) = files::within(Path::new(dir), cwd) {
                return (shown, Verdict::decline(reason));
            }
        }
        if !params["networkApprovalContext"].is_null() {
            let host = &params["networkApprovalContext"]["host"];
            let reason = format!("weft does not grant network access (to {host})");
            return (shown, Verdict::decline(reason));
        }
        if let Some(kind) = params["kind"].as_str().filter(|k| *k != "command") {
            let reason = format!("weft only decides on running commands, not `{kind}`");
            return (shown, Verdict::decline(reason));
        }
        (shown, self.decide_command(command))
    }

    /// Decides on a shell script, as `bash -c SCRIPT` would run it.
    pub fn decide_script(&self, script: &str) -> Verdict {
        self.decide(|check| check.script(script, 0))
    }

    fn decide(&self, run: impl FnOnce(&mut check::Check) -> Result<(), String> + Send) -> Verdict {
        if self.commands.is_empty() {
            return Verdict::decline("the step allows no commands".into());
        }
        let outcome = on_checker_thread(|| {
            let mut check = check::Check::new(&self.commands);
            run(&mut check).map(|()| check.summary())
        });
        match outcome {
            Some(Ok(summary)) => Verdict::accept(summary),
            Some(Err(reason)) => Verdict::decline(reason),
            None => Verdict::decline("weft could not check the command".into()),
        }
    }

    /// Decides a file-change approval for `paths`, in the step's working directory `cwd`.
    pub fn decide_files(&self, paths: &[PathBuf], cwd: &Path) -> Verdict {
        files::decide(&self.files, paths, cwd)
    }
}

/// The command a request runs, for reports: the script of a shell wrapper
/// (`/bin/bash -lc 'ls | wc -l'` shows as `ls | wc -l`), on one line, shortened.
pub fn shown_command(command: &str) -> String {
    let script = on_checker_thread(|| {
        let argv = crate::shell::argv(command).ok()?;
        match crate::shell::classify(&crate::shell::Command::from_argv(&argv)).ok()? {
            crate::shell::Runs::Script(script) => Some(script),
            _ => None,
        }
    });
    shorten(script.flatten().as_deref().unwrap_or(command))
}

/// Runs `f` on a thread of its own with a known, large stack (the parser recurses);
/// `None` when it could not run or panicked.
fn on_checker_thread<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("weft-approval".into())
            .stack_size(CHECK_STACK)
            .spawn_scoped(scope, f);
        worker.ok().and_then(|w| w.join().ok())
    })
}

/// `text` on one line (a newline shows as `⏎`), at most [`SHOWN_CHARS`] characters.
pub fn shorten(text: &str) -> String {
    let line = text.trim().replace('\n', " ⏎ ");
    let count = line.chars().count();
    if count <= SHOWN_CHARS {
        return line;
    }
    let kept: String = line.chars().take(SHOWN_CHARS).collect();
    format!("{kept}… ({} more characters)", count - SHOWN_CHARS)
}

#[cfg(test)]
mod tests;
