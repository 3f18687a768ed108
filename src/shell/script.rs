//! Reads a shell script with brush-parser and lists every simple command it can run:
//! each stage of a pipeline, each side of `&&`, `||`, `;` and `&`, each line, and the
//! commands inside subshells, brace groups, `if` and loops. Whatever cannot be reduced
//! to simple commands made of literal words is [`Unclear`].

use brush_parser::ast::{
    self, CommandPrefixOrSuffixItem as Item, CompoundCommand, IoFileRedirectKind as Kind,
    IoFileRedirectTarget as Target, IoRedirect,
};
use brush_parser::{ParserOptions, SourceInfo, Token};

use super::command::{Command, Word};
use super::word::{literal, quote};
use super::{Unclear, limits};

/// How weft reads scripts: bash syntax, without extended globbing, so that anything
/// bash with `extglob` off would not run as plain words fails to parse.
pub(crate) fn options() -> ParserOptions {
    ParserOptions {
        enable_extended_globbing: false,
        posix_mode: false,
        sh_mode: false,
        tilde_expansion: true,
    }
}

/// Every simple command `script` can run, in order.
pub fn commands(script: &str) -> Result<Vec<Command>, Unclear> {
    limits::check_text(script)?;
    let options = options();
    let tokens = brush_parser::tokenize_str_with_options(script, &options.tokenizer_options())
        .map_err(|e| Unclear::new(format!("the script does not parse: {e}")))?;
    limits::check_tokens(&tokens)?;
    let program = brush_parser::parse_tokens(&tokens, &options, &SourceInfo::default())
        .map_err(|e| Unclear::new(format!("the script does not parse: {e}")))?;
    let mut walker = Walker {
        options,
        found: Vec::new(),
    };
    for list in &program.complete_commands {
        walker.list(list)?;
    }
    Ok(walker.found)
}

/// The words of a command line written as one quoted argument vector (the request's
/// `command`: codex joins what it runs with POSIX quoting).
pub fn argv(line: &str) -> Result<Vec<String>, Unclear> {
    let not_argv = || Unclear::new("the command is not one quoted argument list");
    let mut found = commands(line)?;
    if found.len() != 1 {
        return Err(not_argv());
    }
    let command = found.remove(0);
    if !command.assignments.is_empty() || !command.redirects.is_empty() {
        return Err(not_argv());
    }
    command
        .words
        .into_iter()
        .map(|w| match w {
            Word::Literal(text) => Ok(text),
            Word::Open => Err(not_argv()),
        })
        .collect()
}

struct Walker {
    options: ParserOptions,
    found: Vec<Command>,
}

impl Walker {
    fn list(&mut self, list: &ast::CompoundList) -> Result<(), Unclear> {
        for item in &list.0 {
            for (_, pipeline) in item.0.iter() {
                for command in &pipeline.seq {
                    self.command(command)?;
                }
            }
        }
        Ok(())
    }

    fn command(&mut self, command: &ast::Command) -> Result<(), Unclear> {
        match command {
            ast::Command::Simple(simple) => {
                let command = self.simple(simple)?;
                self.found.push(command);
                Ok(())
            }
            ast::Command::Compound(compound, redirects) => {
                for redirect in redirects.iter().flat_map(|r| &r.0) {
                    if self.redirect(redirect)?.is_some() {
                        return Err(Unclear::new(
                            "the script redirects a compound command to a file",
                        ));
                    }
                }
                self.compound(compound)
            }
            ast::Command::Function(f) => Err(Unclear::new(format!(
                "the script defines the function `{}`",
                f.fname
            ))),
            ast::Command::ExtendedTest(_) => Err(Unclear::new("the script has a `[[ … ]]` test")),
        }
    }

    fn compound(&mut self, compound: &CompoundCommand) -> Result<(), Unclear> {
        match compound {
            CompoundCommand::BraceGroup(group) => self.list(&group.0),
            CompoundCommand::Subshell(subshell) => self.list(&subshell.0),
            CompoundCommand::IfClause(clause) => {
                self.list(&clause.condition)?;
                self.list(&clause.then)?;
                for branch in clause.elses.iter().flatten() {
                    if let Some(condition) = &branch.condition {
                        self.list(condition)?;
                    }
                    self.list(&branch.body)?;
                }
                Ok(())
            }
            CompoundCommand::WhileClause(clause) | CompoundCommand::UntilClause(clause) => {
                self.list(&clause.0)?;
                self.list(&clause.1.0)
            }
            CompoundCommand::ForClause(_) => Err(Unclear::new("the script has a `for` loop")),
            CompoundCommand::CaseClause(_) => Err(Unclear::new("the script has a `case` command")),
            CompoundCommand::Arithmetic(_) | CompoundCommand::ArithmeticForClause(_) => {
                Err(Unclear::new("the script has shell arithmetic"))
            }
        }
    }

    fn simple(&self, simple: &ast::SimpleCommand) -> Result<Command, Unclear> {
        let mut command = Command::default();
        for item in simple.prefix.iter().flat_map(|p| &p.0) {
            match item {
                Item::AssignmentWord(_, word) => {
                    let text = literal(&word.value, &self.options)?;
                    command.assignments.push(assignment(&text, &word.value)?);
                }
                other => self.item(other, &mut command)?,
            }
        }
        if let Some(word) = &simple.word_or_name {
            let text = literal(&word.value, &self.options)?;
            command.words.push(Word::Literal(text));
        }
        for item in simple.suffix.iter().flat_map(|s| &s.0) {
            self.item(item, &mut command)?;
        }
        Ok(command)
    }

    fn item(&self, item: &Item, command: &mut Command) -> Result<(), Unclear> {
        match item {
            Item::Word(word) | Item::AssignmentWord(_, word) => {
                let text = literal(&word.value, &self.options)?;
                command.words.push(Word::Literal(text));
            }
            Item::IoRedirect(redirect) => command.redirects.extend(self.redirect(redirect)?),
            Item::ProcessSubstitution(..) => {
                return Err(Unclear::new("the script has a process substitution"));
            }
        }
        Ok(())
    }

    /// A redirection written back, `None` when it is harmless (`2>&1`, `>/dev/null`).
    fn redirect(&self, redirect: &IoRedirect) -> Result<Option<String>, Unclear> {
        let (fd, op, target) = match redirect {
            IoRedirect::File(fd, kind, target) => (*fd, file_op(kind), target_word(target)?),
            IoRedirect::OutputAndError(word, append) => {
                (None, if *append { "&>>" } else { "&>" }, Some(&word.value))
            }
            IoRedirect::HereDocument(..) => {
                return Err(Unclear::new("the script has a here-document"));
            }
            IoRedirect::HereString(..) => return Err(Unclear::new("the script has a here-string")),
        };
        let Some(target) = target else {
            return Ok(None);
        };
        let target = literal(target, &self.options)?;
        let duplicates = matches!(
            redirect,
            IoRedirect::File(_, Kind::DuplicateInput | Kind::DuplicateOutput, _)
        );
        if duplicates
            && target
                .trim_end_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return Ok(None);
        }
        if !duplicates && target == "/dev/null" {
            return Ok(None);
        }
        let fd = fd.map(|n| n.to_string()).unwrap_or_default();
        Ok(Some(format!("{fd}{op} {}", quote(&target))))
    }
}

/// An assignment word (`NAME=value`, `NAME+=value`) written back with its value quoted.
fn assignment(text: &str, raw: &str) -> Result<String, Unclear> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| Unclear::new(format!("cannot read the assignment `{raw}`")))?;
    let bare = name.strip_suffix('+').unwrap_or(name);
    let identifier = bare.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return Err(Unclear::new(format!("cannot read the assignment `{raw}`")));
    }
    Ok(format!("{name}={}", quote(value)))
}

fn file_op(kind: &Kind) -> &'static str {
    match kind {
        Kind::Read => "<",
        Kind::Write => ">",
        Kind::Append => ">>",
        Kind::ReadAndWrite => "<>",
        Kind::Clobber => ">|",
        Kind::DuplicateInput => "<&",
        Kind::DuplicateOutput => ">&",
    }
}

/// The word a file redirection names; `None` for a plain file descriptor (`>&2`).
fn target_word(target: &Target) -> Result<Option<&String>, Unclear> {
    match target {
        Target::Filename(word) | Target::Duplicate(word) => Ok(Some(&word.value)),
        Target::Fd(_) => Ok(None),
        Target::ProcessSubstitution(..) => {
            Err(Unclear::new("the script has a process substitution"))
        }
    }
}

/// The number of tokens that open a nested construct, for [`limits`].
pub(crate) fn openers(tokens: &[Token]) -> usize {
    tokens
        .iter()
        .filter(|t| match t {
            Token::Operator(op, _) => op == "(",
            Token::Word(w, _) => matches!(
                w.as_str(),
                "{" | "if" | "while" | "until" | "for" | "case" | "select" | "function" | "[["
            ),
        })
        .count()
}
