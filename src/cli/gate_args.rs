//! `--approve STEP`, `--reject STEP`, `--reply TEXT`, `--reply-file FILE`: answers to a
//! workflow's gates on the command line (`weft resume`, and `weft run` to answer them
//! before they are reached). A reply goes with the `--approve`/`--reject` before it, so
//! one command can answer several gates; clap's derive cannot say that, so these
//! arguments are read by hand from clap's matches, in the order they were written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::engine::gate::check_reply;
use crate::engine::output::OutputSchema;
use crate::engine::spec::{GateAnswer, RunSpec, UnitKind};
use crate::error::Error;

/// Gate answers as written on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateArgs {
    /// Step, approved, reply, in the order given.
    pub answers: Vec<(String, bool, Option<Reply>)>,
}

/// A reply: the text, or a file that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Text(String),
    File(PathBuf),
}

const IDS: [&str; 4] = ["approve", "reject", "reply", "reply_file"];

impl Args for GateArgs {
    fn augment_args(cmd: Command) -> Command {
        cmd.arg(
            Arg::new("approve")
                .long("approve")
                .value_name("STEP")
                .action(ArgAction::Append)
                .help("Approve the gate STEP (repeatable); a `--reply` after it goes with it"),
        )
        .arg(
            Arg::new("reject")
                .long("reject")
                .value_name("STEP")
                .action(ArgAction::Append)
                .help("Reject the gate STEP: it fails (repeatable)"),
        )
        .arg(
            Arg::new("reply")
                .long("reply")
                .value_name("TEXT")
                .action(ArgAction::Append)
                .help(
                    "The reply to the gate named just before (JSON when it has an `output_schema`)",
                ),
        )
        .arg(
            Arg::new("reply_file")
                .long("reply-file")
                .value_name("FILE")
                .action(ArgAction::Append)
                .help("Like `--reply`, the reply read from FILE"),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for GateArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given: Vec<(usize, &str, String)> = Vec::new();
        for id in IDS {
            let (Some(indices), Some(values)) =
                (matches.indices_of(id), matches.get_many::<String>(id))
            else {
                continue;
            };
            given.extend(indices.zip(values).map(|(at, v)| (at, id, v.clone())));
        }
        given.sort_by_key(|(at, _, _)| *at);
        let mut answers: Vec<(String, bool, Option<Reply>)> = Vec::new();
        for (_, id, value) in given {
            let reply = match id {
                "approve" | "reject" => {
                    answers.push((value, id == "approve", None));
                    continue;
                }
                "reply" => Reply::Text(value),
                _ => Reply::File(PathBuf::from(value)),
            };
            match answers.last_mut() {
                Some((_, _, slot @ None)) => *slot = Some(reply),
                Some((step, _, Some(_))) => {
                    return Err(usage(format!(
                        "gate `{step}` has two replies: give one `--reply` or `--reply-file` per gate"
                    )));
                }
                None => {
                    return Err(usage(
                        "a reply goes with a gate: write `--approve STEP` (or `--reject STEP`) before `--reply`".into(),
                    ));
                }
            }
        }
        Ok(GateArgs { answers })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

fn usage(message: String) -> clap::Error {
    clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, message + "\n")
}

impl GateArgs {
    /// The answers by step, checked against `spec`: each names a gate, once; a reply file
    /// is read; an approving reply matches the gate's `output_schema` (else it is refused
    /// with the validation error, and nothing runs).
    pub fn resolve(&self, spec: &RunSpec) -> Result<BTreeMap<String, GateAnswer>, Error> {
        let mut out = BTreeMap::new();
        for (step, approved, reply) in &self.answers {
            let Some(i) = spec.index_of(step) else {
                let gates: Vec<String> = gate_ids(spec).map(|g| format!("`{g}`")).collect();
                return Err(Error::Usage(format!(
                    "there is no step `{step}` to answer (the gates are: {})",
                    list_or_none(&gates)
                )));
            };
            let target = &spec.steps[i];
            if !matches!(target.kind, UnitKind::Gate(_)) {
                return Err(Error::Usage(format!(
                    "step `{step}` is not a gate: only a `gate:` step takes `--approve` or `--reject`"
                )));
            }
            let reply = match reply {
                None => None,
                Some(Reply::Text(text)) => Some(text.clone()),
                Some(Reply::File(path)) => Some(std::fs::read_to_string(path).map_err(|e| {
                    Error::io(
                        format!("cannot read the reply file `{}`", path.display()),
                        e,
                    )
                })?),
            };
            let answer = GateAnswer {
                approved: *approved,
                reply,
            };
            let schema = target
                .output_schema
                .as_ref()
                .and_then(|s| OutputSchema::new(s).ok());
            check_reply(&answer, schema.as_ref()).map_err(|why| {
                Error::Usage(format!("the reply to gate `{step}` is refused: {why}"))
            })?;
            if out.insert(step.clone(), answer).is_some() {
                return Err(Error::Usage(format!("gate `{step}` is answered twice")));
            }
        }
        Ok(out)
    }
}

fn gate_ids(spec: &RunSpec) -> impl Iterator<Item = &str> {
    spec.steps
        .iter()
        .filter(|s| matches!(s.kind, UnitKind::Gate(_)))
        .map(|s| s.id.as_str())
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        gates: GateArgs,
    }

    fn parse(args: &[&str]) -> Result<GateArgs, String> {
        let argv = std::iter::once("weft").chain(args.iter().copied());
        Probe::try_parse_from(argv)
            .map(|p| p.gates)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_reply_goes_with_the_gate_before_it() {
        let gates = parse(&[
            "--approve",
            "ship",
            "--reply",
            "go",
            "--reject",
            "deploy",
            "--approve",
            "note",
            "--reply-file",
            "r.txt",
        ])
        .unwrap();
        assert_eq!(
            gates.answers,
            vec![
                ("ship".into(), true, Some(Reply::Text("go".into()))),
                ("deploy".into(), false, None),
                ("note".into(), true, Some(Reply::File("r.txt".into()))),
            ]
        );
        let err = parse(&["--reply", "go"]).unwrap_err();
        assert!(err.contains("a reply goes with a gate"), "{err}");
        let err = parse(&["--approve", "a", "--reply", "x", "--reply", "y"]).unwrap_err();
        assert!(err.contains("has two replies"), "{err}");
    }
}
