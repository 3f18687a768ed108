//! The options of the wrappers weft follows (`env`, `xargs`, `timeout`, …): which take a
//! value, which weft refuses, and where the wrapped command starts.

use super::Unclear;
use super::command::{Command, Word};

/// Options of a wrapper: flags, options that take the next word, and options weft
/// refuses because they put run-time text inside the command.
pub(super) struct Spec {
    pub(super) flags: &'static [&'static str],
    pub(super) valued: &'static [&'static str],
    pub(super) refused: &'static [&'static str],
    /// Words between the options and the command (`timeout`'s duration).
    pub(super) operands: usize,
}

pub(super) const XARGS: Spec = Spec {
    flags: &[
        "-0",
        "--null",
        "-r",
        "--no-run-if-empty",
        "-t",
        "--verbose",
        "-p",
        "--interactive",
        "-x",
        "--exit",
        "-o",
        "--open-tty",
        "-e",
        "-l",
    ],
    valued: &[
        "-a",
        "--arg-file",
        "-d",
        "--delimiter",
        "-E",
        "-L",
        "--max-lines",
        "-n",
        "--max-args",
        "-P",
        "--max-procs",
        "-s",
        "--max-chars",
        "--process-slot-var",
    ],
    refused: &["-I", "-i", "--replace"],
    operands: 0,
};
pub(super) const ENV: Spec = Spec {
    flags: &[
        "-i",
        "--ignore-environment",
        "-0",
        "--null",
        "-v",
        "--debug",
        "-",
    ],
    valued: &["-u", "--unset", "-C", "--chdir"],
    refused: &["-S", "--split-string"],
    operands: 0,
};
pub(super) const TIMEOUT: Spec = Spec {
    flags: &["--preserve-status", "--foreground", "-v", "--verbose"],
    valued: &["-s", "--signal", "-k", "--kill-after"],
    refused: &[],
    operands: 1,
};
pub(super) const NICE: Spec = Spec {
    flags: &[],
    valued: &["-n", "--adjustment"],
    refused: &[],
    operands: 0,
};
pub(super) const PLAIN: Spec = Spec {
    flags: &[],
    valued: &[],
    refused: &[],
    operands: 0,
};
pub(super) const TIME: Spec = Spec {
    flags: &["-p", "--portability", "-v", "--verbose", "-q", "--quiet"],
    valued: &["-f", "--format"],
    refused: &[],
    operands: 0,
};
pub(super) const COMMAND: Spec = Spec {
    flags: &["-p"],
    valued: &[],
    refused: &[],
    operands: 0,
};
pub(super) const STDBUF: Spec = Spec {
    flags: &[],
    valued: &["-i", "--input", "-o", "--output", "-e", "--error"],
    refused: &[],
    operands: 0,
};
pub(super) const SETSID: Spec = Spec {
    flags: &["-c", "--ctty", "-f", "--fork", "-w", "--wait"],
    valued: &[],
    refused: &[],
    operands: 0,
};

/// The index of the first word after a wrapper's options and operands.
pub(super) fn skip_options(
    command: &Command,
    program: &str,
    spec: &Spec,
) -> Result<usize, Unclear> {
    let unknown = |word: &str| {
        Unclear::new(format!(
            "`{program}` option `{word}` is not one weft follows"
        ))
    };
    let mut at = 1;
    while let Some(word) = command.words.get(at) {
        let Word::Literal(word) = word else {
            return Err(Unclear::new(format!(
                "`{program}` options filled in at run time"
            )));
        };
        let name = word.split_once('=').map_or(word.as_str(), |(n, _)| n);
        if word == "--" {
            at += 1;
            break;
        } else if spec.refused.iter().any(|r| word.starts_with(r)) {
            return Err(Unclear::new(format!(
                "`{program} {word}` builds the command from run-time text"
            )));
        } else if spec.valued.contains(&word.as_str()) {
            if !matches!(command.words.get(at + 1), Some(Word::Literal(_))) {
                return Err(Unclear::new(format!(
                    "cannot tell what `{program} {word}` is given"
                )));
            }
            at += 2;
        } else if spec.flags.contains(&word.as_str())
            || spec.valued.contains(&name)
            || attached(word, spec)
            || (program == "nice" && is_number_option(word))
        {
            at += 1;
        } else if word.starts_with('-') && word.len() > 1 {
            return Err(unknown(word));
        } else {
            break;
        }
    }
    let start = at + spec.operands;
    if start > command.words.len()
        || command.words[at..start.min(command.words.len())].contains(&Word::Open)
    {
        return Err(Unclear::new(format!("cannot tell what `{program}` runs")));
    }
    Ok(start)
}

/// A short option with its value attached (`-n1`, `-oL`) or a cluster of short flags.
fn attached(word: &str, spec: &Spec) -> bool {
    let short = |o: &&&str| o.len() == 2 && !o.starts_with("--");
    let valued = spec
        .valued
        .iter()
        .filter(short)
        .any(|o| word.starts_with(*o) && word.len() > 2);
    let optional = ["-e", "-l"]
        .iter()
        .any(|o| spec.flags.contains(o) && word.starts_with(o));
    let cluster = word.len() > 2
        && !word.starts_with("--")
        && word.starts_with('-')
        && word[1..]
            .chars()
            .all(|c| spec.flags.iter().filter(short).any(|f| f.ends_with(c)));
    valued || optional || cluster
}

fn is_number_option(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-') && word[1..].bytes().all(|b| b.is_ascii_digit())
}
