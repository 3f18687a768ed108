//! `weft doctor`: is this machine ready to run workflows? The codex binary and its version,
//! `CODEX_HOME` and its config, the app-server starting with that config, model
//! credentials (never shown), and the sandbox. One line per check, one line of advice per
//! failure; exit 1 when any check fails.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::args::DoctorArgs;
use super::sandbox_probe;
use crate::client::diagnose::{self, Problem};
use crate::client::{Client, ClientConfig, Error};
use crate::error::{EXIT_STEP_FAILED, EXIT_SUCCESS};

/// One check: its name and what it found.
struct Check {
    name: &'static str,
    outcome: Result<String, Problem>,
}

/// `weft doctor`.
pub fn doctor(args: &DoctorArgs, out: &mut dyn Write) -> i32 {
    let reaper = crate::reaper::install_for_command();
    let checks = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run_checks(args)),
        Err(e) => vec![Check {
            name: "runtime",
            outcome: Err(Problem {
                what: format!("cannot start the async runtime: {e}"),
                advice: "check the process limits of this machine".into(),
            }),
        }],
    };
    reaper.end_adopted();
    let failed = checks.iter().filter(|c| c.outcome.is_err()).count();
    for check in &checks {
        let _ = match &check.outcome {
            Ok(found) => writeln!(out, "ok    {:<12} {found}", check.name),
            Err(problem) => writeln!(
                out,
                "FAIL  {:<12} {}\n      {:<12} {}",
                check.name, problem.what, "", problem.advice
            ),
        };
    }
    if failed == 0 {
        let _ = writeln!(out, "all {} checks passed", checks.len());
        EXIT_SUCCESS
    } else {
        let _ = writeln!(out, "{failed} of {} checks failed", checks.len());
        EXIT_STEP_FAILED
    }
}

async fn run_checks(args: &DoctorArgs) -> Vec<Check> {
    let mut checks = Vec::new();
    let codex = check_codex(args.codex_bin.clone());
    let found = codex.is_ok();
    checks.push(Check {
        name: "codex",
        outcome: codex.map(|(path, version)| {
            let range = diagnose::supported_range();
            format!("{} ({version}; weft supports {range})", path.display())
        }),
    });
    checks.push(Check {
        name: "CODEX_HOME",
        outcome: check_codex_home(),
    });
    if !found {
        for name in ["app-server", "credentials", "sandbox"] {
            checks.push(Check {
                name,
                outcome: skipped("no usable codex binary"),
            });
        }
        return checks;
    }
    let config = ClientConfig {
        codex_bin: args.codex_bin.clone(),
        config_overrides: args.config.clone(),
        client_name: "weft_doctor".into(),
        ..ClientConfig::default()
    };
    let (server, credentials) = match Client::spawn(config).await {
        Ok(client) => {
            let version = client.server_version().to_owned();
            let credentials = diagnose::credentials(&client).await.map(|c| c.to_string());
            let _ = client.close().await;
            (
                Ok(format!("starts with this configuration ({version})")),
                credentials,
            )
        }
        Err(error) => {
            let problem = diagnose::start_problem(&error);
            let skipped = skipped("the app-server did not start");
            (Err(problem), skipped)
        }
    };
    checks.push(Check {
        name: "app-server",
        outcome: server,
    });
    checks.push(Check {
        name: "credentials",
        outcome: credentials,
    });
    checks.push(Check {
        name: "sandbox",
        outcome: sandbox_probe::probe(args.codex_bin.clone()).await,
    });
    checks
}

fn skipped(why: &str) -> Result<String, Problem> {
    Err(Problem {
        what: format!("not checked: {why}"),
        advice: "fix the failure above first".into(),
    })
}

/// The codex binary (`--codex-bin`, `CODEX_BIN`, or `codex` on `PATH`) and its version,
/// which must be in the supported range.
fn check_codex(explicit: Option<PathBuf>) -> Result<(PathBuf, String), Problem> {
    let not_found = |bin: PathBuf| Error::Spawn {
        bin,
        source: std::io::ErrorKind::NotFound.into(),
    };
    let bin = match explicit {
        Some(path) => path,
        None => {
            on_path("codex").ok_or_else(|| diagnose::start_problem(&not_found("codex".into())))?
        }
    };
    let output = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .map_err(|source| {
            diagnose::start_problem(&Error::Spawn {
                bin: bin.clone(),
                source,
            })
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if let Some(problem) = diagnose::version_problem(&version) {
        return Err(problem);
    }
    Ok((bin, version))
}

/// The first executable `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `CODEX_HOME` (or `~/.codex`) can be read, and so can its `config.toml`.
fn check_codex_home() -> Result<String, Problem> {
    let Some(home) = diagnose::codex_home() else {
        return Err(Problem {
            what: "cannot tell where `CODEX_HOME` is: neither `CODEX_HOME` nor `HOME` is set"
                .into(),
            advice: "set `CODEX_HOME` to the directory of the Codex configuration".into(),
        });
    };
    let unreadable = |path: &Path, e: std::io::Error| Problem {
        what: format!("cannot read `{}`: {e}", path.display()),
        advice: "give this user read access to it, or point `CODEX_HOME` at another directory"
            .into(),
    };
    if !home.exists() {
        return Ok(format!(
            "{} does not exist yet (codex creates it)",
            home.display()
        ));
    }
    std::fs::read_dir(&home).map_err(|e| unreadable(&home, e))?;
    let config = home.join("config.toml");
    if !config.exists() {
        return Ok(format!(
            "{} (no config.toml: codex's defaults)",
            home.display()
        ));
    }
    std::fs::read_to_string(&config).map_err(|e| unreadable(&config, e))?;
    Ok(format!("{} (config.toml readable)", home.display()))
}
