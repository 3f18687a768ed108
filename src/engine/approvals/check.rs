//! The walk that decides a command: every simple command it can run, through nested
//! shells and the commands that wrappers run, must match an allowed pattern.

use super::shorten;
use crate::shell::{self, Command, Runs};
use crate::vocab::Glob;

/// How deep nested shells and wrappers may go.
const MAX_DEPTH: usize = 8;

/// How many matches an approval's reason lists.
const LISTED: usize = 5;

/// One decision in progress.
pub(crate) struct Check<'a> {
    patterns: &'a [Glob],
    matched: Vec<(String, String)>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(patterns: &'a [Glob]) -> Self {
        Check {
            patterns,
            matched: Vec::new(),
        }
    }

    /// The request's command line: one quoted argument list.
    pub(crate) fn argv_line(&mut self, line: &str) -> Result<(), String> {
        if line.trim().is_empty() {
            return Err("the request names no command".into());
        }
        let argv = shell::argv(line)
            .map_err(|e| format!("cannot read the command `{}`: {e}", shorten(line)))?;
        self.command(Command::from_argv(&argv), 0)
    }

    /// A script, as `bash -c` runs it.
    pub(crate) fn script(&mut self, script: &str, depth: usize) -> Result<(), String> {
        let whole = script.trim();
        if let Some(p) = self
            .patterns
            .iter()
            .find(|p| p.is_exact() && p.as_str() == whole)
        {
            self.matched.push((shorten(whole), shorten(p.as_str())));
            return Ok(());
        }
        let commands =
            shell::commands(script).map_err(|e| format!("{e}, in `{}`", shorten(script)))?;
        if commands.is_empty() {
            return Err(format!("the script `{}` runs no command", shorten(script)));
        }
        for command in commands {
            self.command(command, depth)?;
        }
        Ok(())
    }

    fn command(&mut self, command: Command, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "commands nest more than {MAX_DEPTH} deep at {}",
                command.describe()
            ));
        }
        let runs =
            shell::classify(&command).map_err(|e| format!("{e}, in {}", command.describe()))?;
        match runs {
            Runs::Script(script) => self.script(&script, depth + 1),
            Runs::Itself => self.allowed(&command),
            Runs::Others(inner) => {
                self.allowed(&command)?;
                inner
                    .into_iter()
                    .try_for_each(|c| self.command(c, depth + 1))
            }
        }
    }

    /// Finds the pattern that allows `command`, or says why none does.
    fn allowed(&mut self, command: &Command) -> Result<(), String> {
        let text = command.text();
        let found = if !command.redirects.is_empty() {
            self.patterns
                .iter()
                .find(|p| p.is_exact() && p.as_str() == text)
        } else if command.is_open() {
            let start = command.known_start();
            self.patterns
                .iter()
                .find(|p| p.matches_any_continuation(&start))
        } else {
            self.patterns.iter().find(|p| p.is_match(&text))
        };
        let Some(pattern) = found else {
            return Err(why_not(command));
        };
        self.matched
            .push((shorten(&text), shorten(pattern.as_str())));
        Ok(())
    }

    /// The reason of an approval: which pattern allowed which command.
    pub(crate) fn summary(&self) -> String {
        let mut listed: Vec<String> = Vec::new();
        for (command, pattern) in &self.matched {
            let line = format!("`{command}` matches `{pattern}`");
            if !listed.contains(&line) {
                listed.push(line);
            }
        }
        let more = listed.len().saturating_sub(LISTED);
        listed.truncate(LISTED);
        let mut summary = listed.join(", ");
        if more > 0 {
            summary.push_str(&format!(" and {more} more"));
        }
        summary
    }
}

fn why_not(command: &Command) -> String {
    let shown = shorten(&command.describe());
    if !command.redirects.is_empty() {
        format!("{shown} redirects to or from a file: only an exact pattern allows it")
    } else if command.is_open() {
        format!(
            "{shown} gets words at run time: only a pattern that allows any words from there \
             (ending in `*`) allows it, and none does"
        )
    } else {
        format!("{shown} matches no allowed command pattern")
    }
}
