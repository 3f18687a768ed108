//! `scripts/codex-cli`: it pins the versions weft says it supports, and it finds the
//! native codex binary the way the npm package's launcher does, on every platform codex
//! ships for (checked on fake installs of each).

use std::path::{Path, PathBuf};
use std::process::Command;

use weft::client::diagnose::{CODEX_NEWEST, CODEX_PINNED, supported_range};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The value of `NAME="..."` in the script.
fn script_value(name: &str) -> String {
    let text = std::fs::read_to_string(root().join("scripts/codex-cli")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=\"")))
        .unwrap_or_else(|| panic!("no {name} in scripts/codex-cli"));
    line.trim_end_matches('"').to_owned()
}

#[test]
fn the_script_the_readme_and_weft_agree_on_the_supported_versions() {
    assert_eq!(script_value("PINNED"), CODEX_PINNED);
    assert_eq!(script_value("NEWEST"), CODEX_NEWEST);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Codex CLI {}", supported_range())),
        "the README states the supported range"
    );
}

/// A fake npm install of codex `version` whose native binary lives in `package` (or in
/// `@openai/codex` itself when `None`) under `vendor/<triple>/bin/codex`; its path.
fn fake_install(tools: &Path, version: &str, package: Option<&str>, triple: &str) -> PathBuf {
    let modules = tools.join(format!("codex-{version}/node_modules/@openai"));
    let main = modules.join("codex");
    std::fs::create_dir_all(&main).unwrap();
    std::fs::write(main.join("package.json"), r#"{"name": "@openai/codex"}"#).unwrap();
    let holder = match package {
        Some(name) => {
            let dir = modules.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let json = format!(r#"{{"name": "@openai/{name}"}}"#);
            std::fs::write(dir.join("package.json"), json).unwrap();
            dir
        }
        None => main,
    };
    let bin = holder.join("vendor").join(triple).join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("codex");
    std::fs::write(&exe, format!("#!/bin/sh\necho 'codex-cli {version}'\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

#[test]
fn the_native_binary_is_found_on_each_platform_as_the_npm_launcher_finds_it() {
    let tools = tempfile::tempdir().unwrap();
    let cases = [
        (
            "linux-x64",
            Some("codex-linux-x64"),
            "x86_64-unknown-linux-musl",
        ),
        (
            "linux-arm64",
            Some("codex-linux-arm64"),
            "aarch64-unknown-linux-musl",
        ),
        (
            "darwin-x64",
            Some("codex-darwin-x64"),
            "x86_64-apple-darwin",
        ),
        (
            "darwin-arm64",
            Some("codex-darwin-arm64"),
            "aarch64-apple-darwin",
        ),
        ("darwin-arm64", None, "aarch64-apple-darwin"),
    ];
    for (i, (platform, package, triple)) in cases.into_iter().enumerate() {
        let version = format!("9.9.{i}");
        let expected = fake_install(tools.path(), &version, package, triple);
        let output = Command::new(root().join("scripts/codex-cli"))
            .arg(&version)
            .env("WEFT_TOOLS_DIR", tools.path())
            .env("WEFT_CODEX_PLATFORM", platform)
            .env("npm_config_registry", "http://127.0.0.1:9/")
            .output()
            .expect("run scripts/codex-cli");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{platform}: {stderr}");
        let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert_eq!(
            found,
            expected.display().to_string(),
            "{platform} {package:?}"
        );
        assert!(
            !stderr.contains("installing"),
            "{platform}: nothing to install"
        );
    }
}
