//! Commands that run other commands. The rule: a nested shell (`bash -c SCRIPT`) is
//! looked through, so each command of its script is checked instead; a known wrapper
//! (`env`, `xargs`, `timeout`, `nice`, `nohup`, `time`, `command`, `builtin`, `stdbuf`,
//! `setsid`, `find … -exec`) is checked itself and so is each command it runs; whatever
//! weft cannot follow (`eval`, `exec`, `source`, `sudo`, `git -c`, `xargs -I`, a wrapper
//! option it does not know) is unclear, and so declined.

use super::Unclear;
use super::command::{Command, Word};
use super::options::{
    COMMAND, ENV, NICE, PLAIN, SETSID, STDBUF, Spec, TIME, TIMEOUT, XARGS, skip_options,
};
use super::word::quote;

/// What running a command means for the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    /// It runs only itself: check it against the patterns.
    Itself,
    /// A nested shell running this script: check the script's commands instead.
    Script(String),
    /// It runs these commands too: check it and each of them.
    Others(Vec<Command>),
}

/// Where a shell weft looks through may live: a nested shell is not checked itself, so
/// it must be the system's, not a file of the same name the agent could have written.
const SHELL_DIRS: &[&str] = &[
    "/bin",
    "/usr/bin",
    "/usr/local/bin",
    "/opt/homebrew/bin",
    "/run/current-system/sw/bin",
];

/// Commands weft never approves: they run text, or another user's rights, that no
/// pattern can vouch for.
const NEVER: &[(&str, &str)] = &[
    ("eval", "runs text as a script"),
    ("exec", "replaces the shell with another command"),
    ("source", "runs a script file in the shell"),
    (".", "runs a script file in the shell"),
    ("trap", "runs text as a script later"),
    ("alias", "changes what a command name runs"),
    ("coproc", "runs a command in the background of the shell"),
    ("select", "asks for input interactively"),
    ("let", "evaluates shell arithmetic"),
    ("compgen", "runs the commands its options name"),
    ("complete", "runs the commands its options name"),
    ("enable", "loads builtins into the shell"),
    ("hash", "changes what a command name runs"),
    ("fc", "runs commands from the history"),
    ("bind", "binds keys to commands"),
    ("sudo", "runs a command with other rights"),
    ("doas", "runs a command with other rights"),
    ("su", "runs a command with other rights"),
    ("pkexec", "runs a command with other rights"),
    ("runuser", "runs a command with other rights"),
];

/// Builtins that evaluate an array subscript in a variable name they are given
/// (`declare 'a[$(cmd)]=1'` runs `cmd`).
const SUBSCRIPTS: &[&str] = &[
    "declare",
    "typeset",
    "local",
    "readonly",
    "export",
    "unset",
    "read",
    "mapfile",
    "readarray",
    "wait",
];

const SHELLS: &[&str] = &["bash", "sh", "zsh", "dash", "ksh", "mksh", "ash"];

/// What `command` runs.
pub fn classify(command: &Command) -> Result<Runs, Unclear> {
    let Some(program) = command.program() else {
        return Ok(Runs::Itself);
    };
    if let Some((name, why)) = NEVER.iter().find(|(name, _)| *name == program) {
        return Err(Unclear::new(format!("`{name}` {why}")));
    }
    subscripts(command, program)?;
    let spec = match program {
        p if SHELLS.contains(&p) && trusted_shell(command) => return shell(command),
        "find" => return find(command),
        "git" => return git(command),
        "command" if matches!(command.literal(1), Some("-v" | "-V")) => return Ok(Runs::Itself),
        "xargs" => &XARGS,
        "env" => &ENV,
        "timeout" => &TIMEOUT,
        "nice" => &NICE,
        "nohup" | "builtin" => &PLAIN,
        "time" => &TIME,
        "command" => &COMMAND,
        "stdbuf" => &STDBUF,
        "setsid" => &SETSID,
        _ => return Ok(Runs::Itself),
    };
    wrapped(command, program, spec).map(|inner| Runs::Others(inner.into_iter().collect()))
}

/// Fails when `program` would evaluate an array subscript (`a[…]`) in a name it is given:
/// any argument of [`SUBSCRIPTS`], the name after `-v` of `printf`, `test` and `[`.
fn subscripts(command: &Command, program: &str) -> Result<(), Unclear> {
    let words: Vec<&str> = (1..command.words.len())
        .filter_map(|i| command.literal(i))
        .collect();
    let after_v = words
        .windows(2)
        .any(|w| matches!(w[0], "-v" | "-R") && w[1].contains('['))
        || words.iter().any(|w| w.starts_with("-v") && w.contains('['));
    let open = command.is_open();
    let named = match program {
        p if SUBSCRIPTS.contains(&p) => open || words.iter().any(|w| w.contains('[')),
        "test" | "[" => open || after_v,
        "printf" => after_v || (open && words.iter().any(|w| w.starts_with("-v"))),
        _ => false,
    };
    if named {
        return Err(Unclear::new(format!(
            "`{program}` evaluates the array subscript of a name it is given"
        )));
    }
    Ok(())
}

/// The command a wrapper runs, after its options (and, for `env`, its assignments).
fn wrapped(command: &Command, program: &str, spec: &Spec) -> Result<Option<Command>, Unclear> {
    let start = skip_options(command, program, spec)?;
    let mut inner = Command {
        words: command.words[start..].to_vec(),
        more_args: command.more_args,
        run_by: Some(program.to_string()),
        ..Command::default()
    };
    if program == "env" {
        while let Some(Word::Literal(word)) = inner.words.first() {
            let Some((name, value)) = word.split_once('=') else {
                break;
            };
            let (name, value) = (quote(name), quote(value));
            inner.assignments.push(format!("{name}={value}"));
            inner.words.remove(0);
        }
    }
    if program == "xargs" {
        inner.more_args = true;
        if inner.words.is_empty() {
            inner.words.push(Word::Literal("echo".into()));
        }
    }
    Ok((!inner.words.is_empty()).then_some(inner))
}

/// A shell named by its bare name (found on `PATH`) or by its path in a system directory.
fn trusted_shell(command: &Command) -> bool {
    let path = std::path::Path::new(command.literal(0).unwrap_or_default());
    match path.parent().and_then(|p| p.to_str()) {
        Some("") => true,
        Some(dir) => SHELL_DIRS.contains(&dir),
        None => false,
    }
}

/// `bash -c SCRIPT …`: the script, when every option before it is one weft knows.
fn shell(command: &Command) -> Result<Runs, Unclear> {
    let program = command.program().unwrap_or("sh");
    let mut at = 1;
    let mut script_follows = false;
    while let Some(Word::Literal(word)) = command.words.get(at) {
        let known = match word.as_str() {
            "--login" | "--noprofile" | "--norc" => true,
            "--" => false,
            "-o" | "+o" => {
                at += 1;
                matches!(
                    command.literal(at),
                    Some("pipefail" | "errexit" | "nounset" | "xtrace")
                )
            }
            w if w.len() > 1 && w.starts_with('-') && !w.starts_with("--") => {
                script_follows |= w.contains('c');
                w[1..].chars().all(|c| "cleuxv".contains(c))
            }
            _ => break,
        };
        if !known {
            return Err(Unclear::new(format!(
                "`{program}` option `{word}` is not one weft follows"
            )));
        }
        at += 1;
    }
    if !script_follows {
        return Ok(Runs::Itself);
    }
    if !command.assignments.is_empty() || !command.redirects.is_empty() {
        return Err(Unclear::new(format!(
            "a nested `{program}` with variables or redirections"
        )));
    }
    match command.words.get(at) {
        Some(Word::Literal(script)) => Ok(Runs::Script(script.clone())),
        _ => Err(Unclear::new(format!(
            "cannot tell what script `{program} -c` runs"
        ))),
    }
}

/// `find … -exec CMD ;`: find itself and every command of its `-exec`, `-execdir`, `-ok`
/// and `-okdir` actions, where `{}` is a path filled in at run time.
fn find(command: &Command) -> Result<Runs, Unclear> {
    if command.is_open() {
        return Err(Unclear::new("`find` with arguments filled in at run time"));
    }
    let words: Vec<&str> = (0..command.words.len())
        .filter_map(|i| command.literal(i))
        .collect();
    let mut inner = Vec::new();
    let mut at = 1;
    while at < words.len() {
        if !matches!(words[at], "-exec" | "-execdir" | "-ok" | "-okdir") {
            at += 1;
            continue;
        }
        let end = (at + 1..words.len())
            .find(|&i| words[i] == ";" || words[i] == "+")
            .ok_or_else(|| Unclear::new(format!("`find {}` has no `;` or `+`", words[at])))?;
        let mut run = Command::from_argv(&words[at + 1..end]);
        run.run_by = Some("find".into());
        if words[end] == "+" && run.words.pop() == Some(Word::Literal("{}".into())) {
            run.more_args = true;
        }
        for word in &mut run.words {
            if matches!(word, Word::Literal(w) if w.contains("{}")) {
                *word = Word::Open;
            }
        }
        inner.push(run);
        at = end + 1;
    }
    Ok(if inner.is_empty() {
        Runs::Itself
    } else {
        Runs::Others(inner)
    })
}

/// `git`: its global options may set configuration, which can run any program
/// (`core.pager`, `alias.x=!…`, `core.sshCommand`), so `-c`, `--config-env` and
/// `--exec-path` are unclear.
fn git(command: &Command) -> Result<Runs, Unclear> {
    let mut at = 1;
    loop {
        match command.words.get(at) {
            Some(Word::Literal(word)) if word.starts_with('-') => {
                if word.starts_with("-c")
                    || word.starts_with("--config-env")
                    || word.starts_with("--exec-path")
                {
                    return Err(Unclear::new(format!(
                        "`git {word}` can make git run any program"
                    )));
                }
                at += if word == "-C" { 2 } else { 1 };
            }
            Some(Word::Literal(_)) => return Ok(Runs::Itself),
            None if !command.more_args => return Ok(Runs::Itself),
            _ => return Err(Unclear::new("`git` options filled in at run time")),
        }
    }
}
