//! What stops the agent from working on a machine, named in one set of words: the codex
//! binary missing or of an unsupported version, an app-server that stops at start (a bad
//! config), no model credentials. `weft doctor` checks each; `weft run` says the same
//! words when it fails for one of them.

use std::path::Path;

use super::account::Account;
use super::app_server::Client;
use super::error::Error;

/// The Codex CLI version the whole suite runs against (`scripts/codex-cli`).
pub const CODEX_PINNED: &str = "0.169.0";
/// The newest Codex CLI version weft is tested with (`scripts/codex-cli newest`).
pub const CODEX_NEWEST: &str = "0.171.0";

/// What is wrong and what to do about it, each one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub what: String,
    /// What to do about it.
    pub advice: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.advice)
    }
}

/// Where the agent's model credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An account the app-server is signed in with.
    Account(Account),
    /// An API key in this environment variable.
    Environment(&'static str),
    /// The configured model provider needs no OpenAI credentials.
    NotNeeded,
}

impl std::fmt::Display for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Account(Account::ApiKey) => write!(f, "signed in with an API key"),
            Credentials::Account(Account::Chatgpt { .. }) => {
                write!(f, "signed in with a ChatGPT account")
            }
            Credentials::Account(Account::Other(kind)) => write!(f, "signed in (`{kind}`)"),
            Credentials::Environment(name) => write!(f, "an API key in `{name}`"),
            Credentials::NotNeeded => write!(f, "none needed by the configured model provider"),
        }
    }
}

/// Parse `0.169.0` (or `codex-cli 0.169.0`) into numbers.
fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let text = version.split_whitespace().last()?;
    let mut parts = text.split(['.', '-', '+']).map(|p| p.parse::<u64>());
    Some((
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    ))
}

/// The supported range in words: `0.169.0 to 0.171.x`.
pub fn supported_range() -> String {
    let newest = CODEX_NEWEST
        .rsplit_once('.')
        .map_or(CODEX_NEWEST, |(m, _)| m);
    format!("{CODEX_PINNED} to {newest}.x")
}

/// A problem when `version` is outside the supported range (from [`CODEX_PINNED`] to any
/// patch release of [`CODEX_NEWEST`]'s minor version), or cannot be read.
pub fn version_problem(version: &str) -> Option<Problem> {
    let advice = format!(
        "install a supported version (`npm install -g @openai/codex@{CODEX_PINNED}`) or point \
         `CODEX_BIN` at one"
    );
    let Some(found) = parse(version) else {
        return Some(Problem {
            what: format!("cannot tell the codex version from `{version}`"),
            advice,
        });
    };
    let low = parse(CODEX_PINNED)?;
    let (major, minor, _) = parse(CODEX_NEWEST)?;
    let supported = found >= low && (found.0, found.1) <= (major, minor);
    (!supported).then(|| Problem {
        what: format!(
            "codex {}.{}.{} is not supported (weft supports {})",
            found.0,
            found.1,
            found.2,
            supported_range()
        ),
        advice,
    })
}

/// The problem behind an error of [`Client::spawn`]: the binary missing or not runnable,
/// or an app-server that stopped before the handshake (its first error line).
pub fn start_problem(error: &Error) -> Problem {
    match error {
        Error::Spawn { bin, source } if source.kind() == std::io::ErrorKind::NotFound => Problem {
            what: format!("the codex binary `{}` was not found", bin.display()),
            advice: install_advice(),
        },
        Error::Spawn { bin, source } => Problem {
            what: format!(
                "the codex binary `{}` cannot be run ({source})",
                bin.display()
            ),
            advice: install_advice(),
        },
        Error::ProcessExited {
            status,
            stderr_tail,
        } => Problem {
            what: format!(
                "the app-server stopped at start ({status}): {}",
                first_error_line(stderr_tail)
            ),
            advice: "fix the Codex configuration (`config.toml` in `CODEX_HOME`, default \
                     `~/.codex`, and any `-c` overrides); `codex app-server` shows the same error"
                .into(),
        },
        other => Problem {
            what: format!("the app-server did not answer the handshake: {other}"),
            advice: format!(
                "check that `codex` is the Codex CLI, version {}",
                supported_range()
            ),
        },
    }
}

fn install_advice() -> String {
    format!(
        "install the Codex CLI (`npm install -g @openai/codex@{CODEX_PINNED}`), or give its path \
         with `--codex-bin` or `CODEX_BIN`"
    )
}

fn first_error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let pick = lines
        .iter()
        .find(|l| l.to_ascii_lowercase().contains("error"))
        .or(lines.last());
    pick.map_or_else(|| "it printed nothing".into(), |l| (*l).to_owned())
}

/// Where the agent's credentials come from, or the problem when it has none but needs
/// some. Nothing secret is read or returned: only which kind there is.
pub async fn credentials(client: &Client) -> Result<Credentials, Problem> {
    let info = client.account(false).await.map_err(|e| Problem {
        what: format!("cannot read the agent's account: {e}"),
        advice: "check that the app-server runs (`weft doctor`)".into(),
    })?;
    if let Some(account) = info.account {
        return Ok(Credentials::Account(account));
    }
    let in_env = ["OPENAI_API_KEY", "CODEX_API_KEY"]
        .into_iter()
        .find(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
    match (info.requires_openai_auth, in_env) {
        (false, _) => Ok(Credentials::NotNeeded),
        (true, Some(name)) => Ok(Credentials::Environment(name)),
        (true, None) => Err(Problem {
            what: "the agent has no model credentials".into(),
            advice: "run `codex login` (or `printenv OPENAI_API_KEY | codex login \
                     --with-api-key`), or set a model provider in the Codex config; to try \
                     weft without any, replay a cassette (`weft run FILE --replay CASSETTE`)"
                .into(),
        }),
    }
}

/// `CODEX_HOME` as codex resolves it: the variable, else `~/.codex`.
pub fn codex_home() -> Option<std::path::PathBuf> {
    std::env::var_os("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".codex")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supported_range_runs_from_the_pinned_to_the_newest_minor() {
        assert_eq!(version_problem("codex-cli 0.169.0"), None);
        assert_eq!(version_problem("0.171.0"), None);
        assert_eq!(version_problem("0.171.4"), None);
        assert_eq!(version_problem("0.170.2-alpha.1"), None);
        let old = version_problem("codex-cli 0.168.9").expect("too old");
        assert_eq!(
            old.what,
            "codex 0.168.9 is not supported (weft supports 0.169.0 to 0.171.x)"
        );
        assert!(version_problem("0.172.0").is_some());
        assert!(version_problem("1.0.0").is_some());
        assert!(version_problem("garbage").is_some());
    }

    #[test]
    fn the_error_line_of_a_failed_start_is_the_one_shown() {
        let tail = "starting\nError: invalid value for `wire_api`\nbye\n";
        assert_eq!(
            first_error_line(tail),
            "Error: invalid value for `wire_api`"
        );
        assert_eq!(first_error_line("\n"), "it printed nothing");
    }
}
