use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The corpus shared with `tests/approvals_live.rs`: patterns, and commands with the
/// verdict weft must give them.
const CORPUS: &str = include_str!("../../../tests/data/approval_corpus.json");

fn corpus() -> (ApprovalRules, Vec<Value>) {
    let corpus: Value = serde_json::from_str(CORPUS).unwrap();
    let patterns: Vec<String> = serde_json::from_value(corpus["patterns"].clone()).unwrap();
    let cases = corpus["cases"].as_array().unwrap().clone();
    (ApprovalRules::new(&patterns, &[]), cases)
}

fn rules(commands: &[&str]) -> ApprovalRules {
    let c: Vec<String> = commands.iter().map(|s| s.to_string()).collect();
    ApprovalRules::new(&c, &[])
}

/// The request's `command` codex sends for `script`: `/bin/bash -lc SCRIPT`, quoted.
fn wrapped(script: &str) -> String {
    shlex::try_join(["/bin/bash", "-lc", script]).unwrap()
}

#[test]
fn the_corpus_gets_its_verdicts() {
    let (rules, cases) = corpus();
    assert!(cases.len() >= 40);
    let mut wrong = Vec::new();
    for case in &cases {
        let script = case["script"].as_str().unwrap();
        let expected = case["approved"].as_bool().unwrap();
        let direct = rules.decide_script(script);
        let request = rules.decide_command(&wrapped(script));
        if direct.approved != expected || request.approved != expected {
            wrong.push(format!("{script:?}: {direct:?} / {request:?}"));
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn reasons_name_the_command_that_is_not_allowed() {
    let r = rules(&["ls*", "xargs*"]);
    let v = r.decide_command(&wrapped("ls | xargs touch pwned.txt"));
    assert_eq!(
        v.reason,
        "`touch pwned.txt …` (run by `xargs`) gets words at run time: only a pattern that \
         allows any words from there (ending in `*`) allows it, and none does"
    );
    let v = rules(&["ls*"]).decide_command(&wrapped("ls && rm -rf /"));
    assert_eq!(v.reason, "`rm -rf /` matches no allowed command pattern");
    let v = rules(&["ls*"]).decide_command(&wrapped("ls -la | wc -l"));
    assert_eq!(v.reason, "`wc -l` matches no allowed command pattern");
    let v = rules(&["ls*", "wc*"]).decide_command(&wrapped("ls -la | wc -l"));
    assert_eq!(v.reason, "`ls -la` matches `ls*`, `wc -l` matches `wc*`");
    let v = rules(&["ls*"]).decide_script("ls $(touch x)");
    assert_eq!(
        v.reason,
        "`$(touch x)` has a command substitution, in `ls $(touch x)`"
    );
}

#[test]
fn builtins_that_evaluate_a_subscript_are_declined() {
    let r = rules(&[
        "declare*", "printf *", "read*", "[ *", "test *", "let*", "xargs*", "ls*",
    ]);
    for script in [
        "declare 'a[$(touch pwned.txt)]=1'",
        "printf -v 'a[$(touch pwned.txt)]' x",
        "printf -v'a[$(touch pwned.txt)]' x",
        "read 'a[$(touch pwned.txt)]'",
        "[ -v 'a[$(touch pwned.txt)]' ]",
        "test -v 'a[$(touch pwned.txt)]'",
        "let 'x = 1'",
        "ls | xargs declare",
        "ls | xargs printf -v",
    ] {
        let v = r.decide_script(script);
        assert!(!v.approved, "{script}: {v:?}");
    }
    for script in [
        "printf '[%s]\\n' x",
        "declare -x X=1",
        "[ -f x ]",
        "ls | xargs printf '%s'",
    ] {
        let v = r.decide_script(script);
        assert!(v.approved, "{script}: {v:?}");
    }
}

#[test]
fn what_codex_sends_is_read_as_an_argument_list() {
    let r = rules(&["ls*", "echo *"]);
    assert!(r.decide_command("ls -la").approved, "no shell wrapper");
    let wc = r.decide_command("/bin/bash -c 'ls | wc -l'");
    assert_eq!(wc.reason, "`wc -l` matches no allowed command pattern");
    let home = r.decide_command(r#"/bin/bash -c "echo \"it's\" "'$HOME'"#);
    assert!(
        home.reason.contains("parameter expansion"),
        "{}",
        home.reason
    );
    assert!(r.decide_command(r#"/bin/bash -c "echo \"it's\"""#).approved);
    let garbled = r.decide_command("ls; rm -rf /");
    assert!(!garbled.approved);
    assert!(
        garbled.reason.starts_with("cannot read the command"),
        "{}",
        garbled.reason
    );
    assert!(!r.decide_command("<command included NUL byte>").approved);
    assert!(!r.decide_command("").approved);
    assert!(!ApprovalRules::default().decide_command("ls").approved);
}

#[test]
fn only_command_requests_are_decided() {
    let r = rules(&["ls*"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    let request = |extra: Value| {
        let mut params =
            json!({"command": "/bin/bash -c ls", "kind": "command", "cwd": dir.path()});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r.decide_command_request(&params, dir.path())
    };
    let (shown, v) = request(json!({}));
    assert_eq!((shown.as_str(), v.approved), ("ls", true));
    let (_, v) =
        request(json!({"networkApprovalContext": {"host": "example.com", "protocol": "https"}}));
    assert_eq!(
        v.reason,
        "weft does not grant network access (to \"example.com\")"
    );
    let (_, v) = request(json!({"kind": "writeStdin"}));
    assert!(!v.approved);
    let (_, v) = request(
        json!({"command": null, "commandActions": [{"type": "listFiles", "command": "ls"}]}),
    );
    assert_eq!(v.reason, "the request names no command");
    let (_, v) = request(json!({"cwd": dir.path().join("sub")}));
    assert!(v.approved, "{v:?}");
    let (_, v) = request(json!({"cwd": "/etc"}));
    assert_eq!(
        v.reason,
        "the command would run in `/etc`, outside the step's working directory"
    );
    let (_, v) = request(json!({"cwd": dir.path().join("sub/../..")}));
    assert!(!v.approved, "{v:?}");
}

#[test]
fn only_a_system_shell_is_looked_through() {
    let r = rules(&["ls*"]);
    for shell in ["bash", "/bin/bash", "/usr/bin/zsh", "/usr/local/bin/bash"] {
        let line = shlex::try_join([shell, "-c", "ls"]).unwrap();
        assert!(r.decide_command(&line).approved, "{line}");
    }
    for shell in ["/tmp/evil/bash", "./bash", "bin/sh"] {
        let line = shlex::try_join([shell, "-c", "ls"]).unwrap();
        let v = r.decide_command(&line);
        assert_eq!(
            v.reason,
            format!("`{line}` matches no allowed command pattern")
        );
    }
}

#[test]
fn reports_show_the_command_that_runs() {
    assert_eq!(
        shown_command("/bin/bash -lc 'ls | xargs touch x'"),
        "ls | xargs touch x"
    );
    assert_eq!(shown_command("/bin/bash -c 'ls\nwc'"), "ls ⏎ wc");
    assert_eq!(shown_command("cargo test"), "cargo test");
    let long = shown_command(&wrapped(&"a".repeat(1000)));
    assert!(
        long.starts_with("aaa") && long.ends_with("… (700 more characters)"),
        "{long}"
    );
}

#[test]
fn a_hundred_kilobyte_command_is_decided() {
    let chain = vec!["ls -la"; 12_500].join(" && ");
    assert!(chain.len() > 100_000);
    assert!(rules(&["ls*"]).decide_command(&wrapped(&chain)).approved);
    let tail = format!("{chain} && touch pwned.txt");
    assert!(!rules(&["ls*"]).decide_command(&wrapped(&tail)).approved);
    let word = format!("echo {}", "a".repeat(100_000));
    let stars = rules(&["echo *a*a*a*a*a*a*a*a*a*a*b", "*a*a*a*a*a*a*a*a*c"]);
    assert!(!stars.decide_command(&wrapped(&word)).approved);
    assert!(
        rules(&["echo *a*a*a*a*a*a*a*a*a*a*"])
            .decide_command(&wrapped(&word))
            .approved
    );
}

#[test]
fn scripts_past_the_limits_are_declined_unparsed() {
    let r = rules(&["ls*"]);
    let deep = format!("{}ls{}", "(\n".repeat(257), "\n)".repeat(257));
    let v = r.decide_script(&deep);
    assert!(
        v.reason.contains("more than 256 compound commands"),
        "{}",
        v.reason
    );
    let nested = format!("echo {}x{}", "$(".repeat(257), ")".repeat(257));
    assert!(r.decide_script(&nested).reason.contains("substitutions"));
    assert!(
        r.decide_script(&"ls ".repeat(400_000))
            .reason
            .contains("longer than")
    );
    let shells = (0..10).fold("ls".to_string(), |s, _| wrapped(&s));
    assert!(
        r.decide_script(&shells)
            .reason
            .contains("nest more than 8 deep")
    );
}

#[test]
fn scripts_at_the_limits_are_decided_within_the_stack() {
    let r = rules(&["ls*", "echo *"]);
    let subshells = format!("{}ls{}", "(\n".repeat(256), "\n)".repeat(256));
    assert!(r.decide_script(&subshells).approved);
    let loops = format!(
        "{}ls; {}",
        "while ls; do ".repeat(256),
        "done; ".repeat(256)
    );
    assert!(r.decide_script(&loops).approved);
    let groups = format!("{}ls; {}", "{ ".repeat(256), "}; ".repeat(256));
    assert!(r.decide_script(&groups).approved);
    let nested = format!("echo {}x{}", "$( ".repeat(256), " )".repeat(256));
    let v = r.decide_script(&nested);
    assert!(v.reason.contains("command substitution"), "{}", v.reason);
}

/// The old backtracking matcher, kept as the reference the property checks against.
fn reference_match(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| reference_match(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && reference_match(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && reference_match(&p[1..], &t[1..]),
    }
}

/// A word of a generated script: how it is written, and its text if it is literal.
fn word() -> impl Strategy<Value = (String, Option<String>)> {
    let literal = |w: &str, v: &str| (w.to_string(), Some(v.to_string()));
    let expansion = |w: &str| (w.to_string(), None);
    prop::sample::select(vec![
        literal("ls", "ls"),
        literal("-la", "-la"),
        literal("cat", "cat"),
        literal("wc", "wc"),
        literal("-l", "-l"),
        literal("touch", "touch"),
        literal("pwned.txt", "pwned.txt"),
        literal("allowed.txt", "allowed.txt"),
        literal("echo", "echo"),
        literal("'a | b'", "a | b"),
        literal("\"x;y\"", "x;y"),
        literal("a\\ b", "a b"),
        literal("\\;", ";"),
        literal("'&&'", "&&"),
        literal("t\\ouch", "touch"),
        literal("''", ""),
        expansion("$(touch pwned.txt)"),
        expansion("`id`"),
        expansion("$HOME"),
        expansion("*.txt"),
        expansion("~/x"),
        expansion("{a,b}"),
    ])
}

#[derive(Debug, Clone)]
enum Node {
    Simple(Vec<(String, Option<String>)>),
    Group(Vec<Node>, bool),
}

fn node() -> impl Strategy<Value = Node> {
    let simple = prop::collection::vec(word(), 1..4).prop_map(Node::Simple);
    simple.prop_recursive(3, 12, 3, |inner| {
        (prop::collection::vec(inner, 1..3), any::<bool>()).prop_map(|(n, s)| Node::Group(n, s))
    })
}

fn render(nodes: &[Node], separators: &[&str]) -> String {
    let mut out = String::new();
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            out.push_str(separators[i % separators.len()]);
        }
        match node {
            Node::Simple(words) => out.push_str(
                &words
                    .iter()
                    .map(|w| w.0.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Node::Group(inner, true) => out.push_str(&format!("(\n{}\n)", render(inner, &[" | "]))),
            Node::Group(inner, false) => {
                out.push_str(&format!("{{ {}; }}", render(inner, &["; "])))
            }
        }
    }
    out
}

/// The simple commands of generated nodes, each as its words' texts (`None` when a word
/// is not literal).
fn simple_commands(nodes: &[Node], out: &mut Vec<Vec<Option<String>>>) {
    for node in nodes {
        match node {
            Node::Simple(words) => out.push(words.iter().map(|w| w.1.clone()).collect()),
            Node::Group(inner, _) => simple_commands(inner, out),
        }
    }
}

const PATTERNS: &[&str] = &["ls*", "cat *", "wc -l", "echo *", "touch allowed*"];

fn matches_a_pattern(words: &[Option<String>]) -> bool {
    let Some(texts) = words.iter().cloned().collect::<Option<Vec<String>>>() else {
        return false;
    };
    let text: Vec<char> = texts
        .iter()
        .map(|t| crate::shell::quote(t))
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    PATTERNS
        .iter()
        .any(|p| reference_match(&p.chars().collect::<Vec<_>>(), &text))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_approval_means_every_command_matches(
        nodes in prop::collection::vec(node(), 1..5),
        separators in prop::collection::vec(
            prop::sample::select(vec![" | ", " && ", " || ", "; ", " & ", "\n"]), 1..4),
        comment in any::<bool>(),
    ) {
        let mut script = render(&nodes, &separators);
        if comment {
            script.push_str(" # ; touch pwned.txt");
        }
        let mut commands = Vec::new();
        simple_commands(&nodes, &mut commands);
        let every_match = commands.iter().all(|c| matches_a_pattern(c));
        let verdict = rules(PATTERNS).decide_command(&wrapped(&script));
        if verdict.approved {
            prop_assert!(every_match, "approved {script:?}: {verdict:?}");
        }
        if every_match {
            prop_assert!(verdict.approved, "declined {script:?}: {verdict:?}");
        }
    }

    #[test]
    fn codex_quoting_reads_back_as_the_same_words(
        argv in prop::collection::vec("[ -~\n\té]{0,12}", 1..5),
    ) {
        let line = shlex::try_join(argv.iter().map(String::as_str)).unwrap();
        prop_assert_eq!(crate::shell::argv(&line).ok(), Some(argv.clone()), "{}", line);
    }
}

#[test]
fn the_readme_table_tells_the_truth() {
    let readme = include_str!("../../../README.md");
    let section = &readme[readme.find("### Approvals").unwrap()..];
    let rules_line = section
        .lines()
        .find(|l| l.starts_with("approvals: { commands: ["))
        .unwrap();
    let list = &rules_line[rules_line.find('[').unwrap()..=rules_line.rfind(']').unwrap()];
    let patterns: Vec<String> = serde_json::from_str(list).unwrap();
    let r = ApprovalRules::new(&patterns, &[]);
    let rows: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("| command |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .collect();
    assert!(rows.len() >= 12, "{rows:?}");
    for row in rows {
        let cells: Vec<String> = row
            .replace(r"\|", "\u{1}")
            .split('|')
            .map(|c| c.trim().replace('\u{1}', "|"))
            .collect();
        let command = cells[1].trim_matches('`');
        let expected = cells[2] == "approved";
        let verdict = r.decide_command(&wrapped(command));
        assert_eq!(verdict.approved, expected, "{command}: {}", verdict.reason);
    }
}

/// Found by the approval-parser fuzz target against the old splitter: an escaped quote, or
/// a `'` inside double quotes, must not hide a live substitution.
#[test]
fn an_escaped_or_double_quoted_quote_hides_no_substitution() {
    let r = rules(&["echo *"]);
    for script in [
        r"echo \' $(rm -rf x) \'",
        r#"echo "it's" $(rm -rf x) "it's""#,
        r#"echo "$(id)""#,
    ] {
        assert!(!r.decide_script(script).approved, "{script}");
        assert!(!r.decide_command(&wrapped(script)).approved, "{script}");
    }
    assert!(r.decide_script(r#"echo "a > b" 'c $(d)'"#).approved);
}
