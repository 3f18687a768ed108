//! One simple command as weft checks it: its variable assignments, its words and its
//! redirections to files, written back as one canonical line.

use super::word::quote;

/// A word of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// Text known now.
    Literal(String),
    /// A word filled in at run time (the `{}` of `find … -exec`).
    Open,
}

/// A simple command: what the shell runs after one `|`, `&&`, `;`, newline, ….
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// Variable assignments before the command (`X=1`), written back.
    pub assignments: Vec<String>,
    /// The command name and its arguments.
    pub words: Vec<Word>,
    /// Redirections to or from files (`> out.txt`), written back; harmless ones
    /// (`2>&1`, `>/dev/null`) are not kept.
    pub redirects: Vec<String>,
    /// More arguments are appended at run time (what `xargs` reads).
    pub more_args: bool,
    /// The command that runs this one (`xargs`, `env`, …), for messages.
    pub run_by: Option<String>,
}

impl Command {
    /// A command from literal words.
    pub fn from_argv<S: AsRef<str>>(argv: &[S]) -> Command {
        Command {
            words: argv
                .iter()
                .map(|w| Word::Literal(w.as_ref().to_string()))
                .collect(),
            ..Command::default()
        }
    }

    /// The literal word at `index`, if there is one.
    pub fn literal(&self, index: usize) -> Option<&str> {
        match self.words.get(index) {
            Some(Word::Literal(w)) => Some(w),
            _ => None,
        }
    }

    /// The command name's last path component (`bash` for `/bin/bash`).
    pub fn program(&self) -> Option<&str> {
        self.literal(0).map(|w| w.rsplit('/').next().unwrap_or(w))
    }

    /// True when part of the command is only known at run time.
    pub fn is_open(&self) -> bool {
        self.more_args || self.words.contains(&Word::Open)
    }

    /// The canonical line: assignments, words and redirections separated by single
    /// spaces, words quoted only where they must be; an open word shows as `{}` and
    /// appended arguments as `…`.
    pub fn text(&self) -> String {
        let mut parts: Vec<String> = self.assignments.clone();
        parts.extend(self.words.iter().map(|w| match w {
            Word::Literal(text) => quote(text),
            Word::Open => "{}".to_string(),
        }));
        parts.extend(self.redirects.iter().cloned());
        if self.more_args {
            parts.push("…".to_string());
        }
        parts.join(" ")
    }

    /// For an open command, the canonical line up to the first part only known at run
    /// time: every run of the command starts with it.
    pub fn known_start(&self) -> String {
        let mut parts: Vec<String> = self.assignments.clone();
        for word in &self.words {
            match word {
                Word::Literal(text) => parts.push(quote(text)),
                Word::Open => {
                    parts.push(String::new());
                    break;
                }
            }
        }
        parts.join(" ")
    }

    /// The line shown in messages: the canonical line, and what runs it.
    pub fn describe(&self) -> String {
        match &self.run_by {
            Some(by) => format!("`{}` (run by `{by}`)", self.text()),
            None => format!("`{}`", self.text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_line_quotes_only_what_it_must() {
        let mut c = Command::from_argv(&["git", "commit", "-m", "fix it"]);
        c.assignments.push("GIT_PAGER=cat".into());
        c.redirects.push("> out.txt".into());
        assert_eq!(c.text(), "GIT_PAGER=cat git commit -m 'fix it' > out.txt");
        assert_eq!(c.program(), Some("git"));
        assert!(!c.is_open());
        assert_eq!(Command::from_argv(&["/bin/bash"]).program(), Some("bash"));
    }

    #[test]
    fn open_commands_show_what_is_known() {
        let mut c = Command::from_argv(&["rm", "-f"]);
        c.words.push(Word::Open);
        c.words.push(Word::Literal("x".into()));
        assert!(c.is_open());
        assert_eq!(c.text(), "rm -f {} x");
        assert_eq!(c.known_start(), "rm -f ");
        let mut x = Command::from_argv(&["touch"]);
        x.more_args = true;
        x.run_by = Some("xargs".into());
        assert_eq!(x.known_start(), "touch");
        assert_eq!(x.describe(), "`touch …` (run by `xargs`)");
    }
}
