//! Glob patterns over commands and paths, as `approvals` rules write them.

/// Match `text` against a glob with `*`, `**` and `?`; with `paths`, `*` and `?` never match `/`,
/// and `**/` also matches no directory at all (`src/**/*.rs` matches `src/lib.rs`).
pub fn glob_match(pattern: &str, text: &str, paths: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_from(&p, &t, paths)
}

fn glob_from(p: &[char], t: &[char], paths: bool) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let double = p.get(1) == Some(&'*');
            let rest = if double { &p[2..] } else { &p[1..] };
            let crosses = double || !paths;
            if double && rest.first() == Some(&'/') && glob_from(&rest[1..], t, paths) {
                return true;
            }
            (0..=t.len())
                .take_while(|&i| i == 0 || crosses || t[i - 1] != '/')
                .any(|i| glob_from(rest, &t[i..], paths))
        }
        Some('?') => match t.first() {
            Some(c) if !(paths && *c == '/') => glob_from(&p[1..], &t[1..], paths),
            _ => false,
        },
        Some(c) => t.first() == Some(c) && glob_from(&p[1..], &t[1..], paths),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_commands_and_paths() {
        assert!(glob_match("cargo test*", "cargo test --all", false));
        assert!(!glob_match("cargo test*", "cargo publish", false));
        assert!(glob_match("src/**/*.rs", "src/a/b.rs", true));
        assert!(glob_match("src/**/*.rs", "src/lib.rs", true));
        assert!(glob_match("*.md", "README.md", true));
        assert!(!glob_match("*.md", "docs/README.md", true));
        assert!(
            glob_match("*", "a/b", false),
            "`*` crosses `/` in a command"
        );
    }
}
