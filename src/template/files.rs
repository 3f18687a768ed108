//! Template files: what `{% include "prompts/x.md" %}` reads. Names are paths relative to
//! the workflow file's directory (the root); a name that leaves the root (`../x`, an
//! absolute path, a symbolic link pointing out) is refused, never read.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The template files of one workflow file: its directory, and the files as read when the
/// workflow was checked, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateSource {
    /// The directory names are relative to.
    pub root: PathBuf,
    /// The text of each file read, by name.
    pub files: BTreeMap<String, String>,
}

/// Why a template file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateFileError {
    /// There is no such file.
    #[error("no such file")]
    Missing,
    /// The name leaves the root.
    #[error(
        "`{name}` is outside `{root}`, the workflow file's directory; templates are read from there only"
    )]
    Outside { name: String, root: String },
    /// The file exists and cannot be read (or is not UTF-8).
    #[error("{0}")]
    Unreadable(String),
}

/// Reads template `name` under `root`.
pub fn read_template(root: &Path, name: &str) -> Result<String, TemplateFileError> {
    let outside = || TemplateFileError::Outside {
        name: name.to_string(),
        root: root.display().to_string(),
    };
    let relative = Path::new(name);
    let mut depth = 0usize;
    for component in relative.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            _ => return Err(outside()),
        }
    }
    let path = root.join(relative);
    let (Ok(real_root), Ok(real)) = (root.canonicalize(), path.canonicalize()) else {
        return Err(TemplateFileError::Missing);
    };
    if !real.starts_with(&real_root) {
        return Err(outside());
    }
    if !real.is_file() {
        return Err(TemplateFileError::Missing);
    }
    std::fs::read_to_string(&real)
        .map_err(|e| TemplateFileError::Unreadable(e.to_string().to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_under_the_root_and_refuses_to_leave_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("w");
        std::fs::create_dir_all(root.join("prompts")).unwrap();
        std::fs::write(root.join("prompts/a.md"), "A").unwrap();
        std::fs::write(dir.path().join("secret.md"), "S").unwrap();
        assert_eq!(read_template(&root, "prompts/a.md").unwrap(), "A");
        assert_eq!(
            read_template(&root, "prompts/../prompts/a.md").unwrap(),
            "A"
        );
        assert_eq!(
            read_template(&root, "b.md"),
            Err(TemplateFileError::Missing)
        );
        for name in ["../secret.md", "prompts/../../secret.md"] {
            assert!(
                matches!(
                    read_template(&root, name),
                    Err(TemplateFileError::Outside { .. })
                ),
                "{name}"
            );
        }
        let absolute = dir.path().join("secret.md").display().to_string();
        assert!(matches!(
            read_template(&root, &absolute),
            Err(TemplateFileError::Outside { .. })
        ));
        std::os::unix::fs::symlink(dir.path().join("secret.md"), root.join("link.md")).unwrap();
        assert!(matches!(
            read_template(&root, "link.md"),
            Err(TemplateFileError::Outside { .. })
        ));
    }
}
