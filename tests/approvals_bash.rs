//! Approvals against bash itself: scripts stitched from shell tokens at random are decided
//! by weft, and every approved one is then run by `bash -c` in a scratch directory; none
//! may run a command the rules do not allow (`touch`, or a redirection to a file).

use std::process::Command;

use proptest::prelude::*;
use weft::engine::approvals::ApprovalRules;

/// Pieces of shell syntax, harmless commands, and the two forbidden effects.
const TOKENS: &[&str] = &[
    "ls",
    "ls",
    "ls",
    "-la",
    "echo",
    "echo",
    "echo",
    "hi",
    "hi",
    "touch pwned",
    "echo hi;",
    "ls |",
    "ls &&",
    "echo 'a;b'",
    "echo \"x|y\"",
    "; ls",
    "\nls",
    "| echo",
    " ",
    " ",
    " ",
    "'",
    "\"",
    "\\",
    ";",
    "&",
    "&&",
    "|",
    "||",
    "|&",
    ";&",
    ";;",
    "\n",
    "#",
    "(",
    ")",
    "{",
    "}",
    "$(",
    "`",
    "$",
    "> pwned",
    ">pwned",
    "2>&1",
    ">/dev/null",
    "<<<",
    "<<E\n",
    "\nE\n",
    "\\\n",
    "\t",
    "!",
    "x=1",
    "*",
    "~",
    ",",
    "time",
    "-",
    "--",
    "bash -c",
    "sh -c",
    "xargs",
    "env",
    "timeout 9",
    "'touch pwned'",
    "\"touch pwned\"",
    "t\\ouch pwned",
    "\r",
    "=",
    "[",
    "]",
    "if",
    "then",
    "fi",
    "while",
    "do",
    "done",
    "true",
];

fn allowed() -> ApprovalRules {
    let patterns: Vec<String> = [
        "ls*", "echo *", "echo", "true", "xargs*", "env*", "timeout*",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    ApprovalRules::new(&patterns, &[])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bash_runs_only_what_weft_approved(tokens in prop::collection::vec(
        (prop::sample::select(TOKENS.to_vec()), prop::bool::weighted(0.8)), 1..14)) {
        let script: String = tokens
            .iter()
            .map(|(token, spaced)| if *spaced { format!("{token} ") } else { token.to_string() })
            .collect();
        let verdict = allowed().decide_script(&script);
        if verdict.approved {
            let dir = tempfile::tempdir().unwrap();
            let status = Command::new("bash")
                .args(["-c", &script])
                .current_dir(dir.path())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("run bash");
            let _ = status;
            let ran: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            prop_assert!(ran.is_empty(), "approved {script:?} ({}) and bash made {ran:?}", verdict.reason);
        }
    }
}
