//! The words of the step kinds beyond a turn: what a script's output is (`output:`), the
//! shell that runs it (`shell:`), and how a `loop:` continues and ends.

use serde::{Deserialize, Serialize};

/// What a script step's output is made of (`output:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Stdout as text, trailing newlines removed (the default).
    #[default]
    Text,
    /// Stdout parsed as JSON (checked by `output_schema`, when there is one).
    Json,
    /// Stdout's non-empty lines, as a list of strings.
    Lines,
}

impl OutputFormat {
    /// The spelling in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::Lines => "lines",
        }
    }
}

/// The program that runs a script (`shell:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Shell {
    /// `bash --noprofile --norc -eo pipefail -c SCRIPT` (the default).
    #[default]
    Bash,
    /// `sh -e -c SCRIPT`.
    Sh,
    /// Any other program: these arguments, then the script (`[python3, -c]`).
    Command(Vec<String>),
}

impl Shell {
    /// The shell written as `shell: NAME`: `bash`, `sh`, else `NAME -c`.
    pub fn named(name: &str) -> Shell {
        match name {
            "bash" => Shell::Bash,
            "sh" => Shell::Sh,
            other => Shell::Command(vec![other.to_string(), "-c".to_string()]),
        }
    }

    /// The command line that runs `script`.
    pub fn argv(&self, script: &str) -> Vec<String> {
        let mut argv: Vec<String> = match self {
            Shell::Bash => ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
                .map(String::from)
                .to_vec(),
            Shell::Sh => ["sh", "-e", "-c"].map(String::from).to_vec(),
            Shell::Command(args) => args.clone(),
        };
        argv.push(script.to_string());
        argv
    }

    /// How `weft plan` shows it.
    pub fn describe(&self) -> String {
        match self {
            Shell::Bash => "bash".into(),
            Shell::Sh => "sh".into(),
            Shell::Command(args) => args.join(" "),
        }
    }
}

/// Whether the iterations of a looping turn continue one conversation (`loop.thread`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoopThread {
    /// Every iteration continues the thread of the first (the default).
    #[default]
    Same,
    /// Every iteration starts a new thread.
    Fresh,
}

impl LoopThread {
    /// The spelling in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            LoopThread::Same => "same",
            LoopThread::Fresh => "fresh",
        }
    }
}

/// What a loop that reaches `max_iterations` without its condition holding does
/// (`loop.on_max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMax {
    /// The step fails: "did not converge after N iterations" (the default).
    #[default]
    Fail,
    /// The step succeeds with the last iteration's output.
    Succeed,
}

impl OnMax {
    /// The spelling in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            OnMax::Fail => "fail",
            OnMax::Succeed => "succeed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_put_the_script_last() {
        assert_eq!(
            Shell::Bash.argv("echo hi"),
            [
                "bash",
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                "echo hi"
            ]
        );
        assert_eq!(Shell::named("sh").argv("x"), ["sh", "-e", "-c", "x"]);
        assert_eq!(Shell::named("python3").argv("x"), ["python3", "-c", "x"]);
        let node = Shell::Command(vec!["node".into(), "-e".into()]);
        assert_eq!(node.argv("x"), ["node", "-e", "x"]);
        assert_eq!(node.describe(), "node -e");
    }
}
