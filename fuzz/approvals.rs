//! The approval command parser (`ApprovalRules::decide_script`, and `decide_command` on
//! the `/bin/bash -lc SCRIPT` request codex sends) on generated shell
//! commands whose meaning the generator knows: words, escaped quotes, single- and
//! double-quoted text, and live substitutions and redirections, in parts joined by every
//! control operator. Two properties: a command with a live substitution or redirection is
//! never approved by wildcard patterns; a command of plain parts is approved exactly when
//! each part is.

use proptest::prelude::*;
use weft::engine::approvals::ApprovalRules;

use crate::harness::fuzz;

/// One shell token, and whether the shell would run something the words do not show.
#[derive(Debug, Clone)]
enum Token {
    Word(String),
    /// `\'` or `\"`: a quote character, quoting nothing.
    EscapedQuote(char),
    /// `'...'`: nothing inside is live, whatever it looks like.
    SingleQuoted(String),
    /// `"..."` around plain text.
    DoubleQuoted(String),
    /// `$(...)`, `` `...` ``, `"$(...)"`, `> file`, `< file`: live. (`2>&1` copies a
    /// descriptor and writes no file, so the approval rule treats it as plain.)
    Live(String),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::EscapedQuote(q) => format!("\\{q}"),
            Token::SingleQuoted(s) => format!("'{s}'"),
            Token::DoubleQuoted(s) => format!("\"{s}\""),
            Token::Live(s) => s.clone(),
        }
    }

    fn is_live(&self) -> bool {
        matches!(self, Token::Live(_))
    }
}

fn token() -> impl Strategy<Value = Token> {
    let word = "[a-z0-9_./=-]{1,8}";
    prop_oneof![
        6 => word.prop_map(Token::Word),
        2 => prop_oneof![Just('\''), Just('"')].prop_map(Token::EscapedQuote),
        2 => "[a-z $()<>`|;&\"]{0,10}".prop_map(Token::SingleQuoted),
        1 => "[a-z ']{0,8}".prop_map(Token::DoubleQuoted),
        2 => prop_oneof![
            Just("$(rm -rf x)".to_owned()),
            Just("`rm -rf x`".to_owned()),
            Just("\"$(id)\"".to_owned()),
            Just("> out".to_owned()),
            Just("< in".to_owned()),
            Just(">>log".to_owned()),
        ]
        .prop_map(Token::Live),
    ]
}

/// A simple command: a known program, then tokens.
fn part() -> impl Strategy<Value = Vec<Token>> {
    let program = prop::sample::select(&["echo", "ls", "cargo", "git", "cat"][..]);
    (program, prop::collection::vec(token(), 0..6)).prop_map(|(program, mut tokens)| {
        tokens.insert(0, Token::Word(program.to_owned()));
        tokens
    })
}

const OPERATORS: &[&str] = &[" && ", " || ", "; ", " | ", " & ", "\n", ";", "&&", "|"];
const WILDCARDS: &[&str] = &[
    "*", "echo *", "ls*", "cargo *", "git *", "cat *", "* *", "?*",
];

#[derive(Debug, Clone)]
struct Case {
    parts: Vec<Vec<Token>>,
    operators: Vec<&'static str>,
    patterns: Vec<String>,
}

impl Case {
    fn command(&self) -> String {
        let mut text = String::new();
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                text.push_str(self.operators[i - 1]);
            }
            let words: Vec<String> = part.iter().map(Token::text).collect();
            text.push_str(&words.join(" "));
        }
        text
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(part(), 1..4),
        prop::collection::vec(prop::sample::select(OPERATORS), 3),
        prop::collection::vec(
            prop::sample::select(WILDCARDS).prop_map(str::to_owned),
            1..4,
        ),
    )
        .prop_map(|(parts, operators, patterns)| Case {
            parts,
            operators,
            patterns,
        })
}

/// The verdict on `script`, which must be the same on the request that wraps it.
fn approved(patterns: &[String], script: &str) -> bool {
    let rules = ApprovalRules::new(patterns, &[]);
    let direct = rules.decide_script(script).approved;
    if let Ok(command) = shlex::try_join(["/bin/bash", "-lc", script]) {
        assert_eq!(
            rules.decide_command(&command).approved,
            direct,
            "`{script}` and its request differ"
        );
    }
    direct
}

#[test]
fn approval_command_parser() {
    fuzz("approval_parser", 6_000, case(), |case| {
        let command = case.command();
        let live = case.parts.iter().flatten().any(Token::is_live);
        let verdict = approved(&case.patterns, &command);
        prop_assert!(
            !(live && verdict),
            "wildcard patterns {:?} approved `{}`, which runs a substitution or redirection",
            case.patterns,
            command
        );
        let plain = case
            .parts
            .iter()
            .flatten()
            .all(|t| matches!(t, Token::Word(_)));
        if plain {
            let each = case.parts.iter().all(|part| {
                let words: Vec<String> = part.iter().map(Token::text).collect();
                approved(&case.patterns, &words.join(" "))
            });
            prop_assert_eq!(
                verdict,
                each,
                "`{}` is approved exactly when each part is",
                command
            );
        }
        Ok(())
    });
}
