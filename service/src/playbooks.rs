//! Reading the playbook files (`playbooks/*.toml`) into a [`Catalog`]. Parsing and validation
//! are `domain::playbook`'s; this module only does the file system part.

use std::path::Path;

use domain::playbook::Catalog;
use domain::PlaybookError;

/// Reads every `*.toml` file directly in `dir` (other files and sub-directories are ignored).
/// Every problem is returned — an unreadable directory or file, a broken playbook, an id used
/// twice, a directory without playbooks — so the operator fixes them in one go.
pub fn load_dir(dir: &Path) -> Result<Catalog, Vec<PlaybookError>> {
    let whole = |path: &Path, reason: String| PlaybookError {
        file: path.display().to_string(),
        line: 0,
        reason,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![whole(
            dir,
            format!("cannot read the playbooks directory: {e}"),
        )]
    })?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                errors.push(whole(dir, format!("cannot list the directory: {e}")));
                continue;
            }
        };
        if path.extension().is_none_or(|e| e != "toml") || !path.is_file() {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path.display().to_string(), text)),
            Err(e) => errors.push(whole(&path, format!("cannot be read: {e}"))),
        }
    }
    if files.is_empty() && errors.is_empty() {
        errors.push(whole(
            dir,
            "holds no playbooks (*.toml files): the incident console would have nothing to run"
                .to_owned(),
        ));
    }
    match Catalog::from_files(files) {
        Ok(catalog) if errors.is_empty() => Ok(catalog),
        Ok(_) => Err(errors),
        Err(mut invalid) => {
            errors.append(&mut invalid);
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::PathBuf;

    /// A fresh directory under the system's temporary directory, removed at the end.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("tw-playbooks-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.0.join(name), text).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn repository_playbooks() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks")
    }

    const MINIMAL: &str = "id = \"drill\"\ntitle = \"Drill\"\nversion = 1\ndescription = \"d\"\n\n[[steps]]\nid = \"review\"\ntitle = \"Review\"\nkind = \"review\"\ninstructions = \"Write it up.\"\n";

    #[test]
    fn the_repository_playbooks_load() {
        let catalog = load_dir(&repository_playbooks()).unwrap();
        for id in [
            "key-compromise",
            "planned-key-rotation",
            "signer-identity-revocation",
            "rejection-storm",
        ] {
            assert!(catalog.get(id).is_some(), "{id}");
        }
    }

    #[test]
    fn only_toml_files_are_read() {
        let dir = TempDir::new();
        dir.write("drill.toml", MINIMAL);
        dir.write("README.md", "not a playbook");
        std::fs::create_dir(dir.0.join("old.toml")).unwrap();
        let catalog = load_dir(&dir.0).unwrap();
        assert_eq!(catalog.len(), 1);
        assert_eq!(catalog.get("drill").unwrap().version(), 1);
    }

    #[test]
    fn a_broken_file_is_named_with_its_line() {
        let dir = TempDir::new();
        dir.write("drill.toml", MINIMAL);
        dir.write(
            "broken.toml",
            &MINIMAL
                .replace("id = \"drill\"", "id = \"other\"")
                .replace("kind = \"review\"", "kind = \"reveiw\""),
        );
        let errors = load_dir(&dir.0).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let shown = errors[0].to_string();
        let expected = format!("{}:9: ", dir.0.join("broken.toml").display());
        assert!(shown.starts_with(&expected), "{shown}");
        assert!(shown.contains("\"reveiw\" is not a step kind"), "{shown}");
    }

    #[test]
    fn duplicate_ids_across_files_are_refused() {
        let dir = TempDir::new();
        dir.write("a.toml", MINIMAL);
        dir.write("b.toml", MINIMAL);
        let errors = load_dir(&dir.0).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("b.toml"), "{:?}", errors[0]);
        assert_eq!(errors[0].line, 1);
        assert!(
            errors[0].reason.contains("already used by"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_missing_or_empty_directory_is_an_error() {
        let dir = TempDir::new();
        let errors = load_dir(&dir.0).unwrap_err();
        assert!(
            errors[0].reason.contains("holds no playbooks"),
            "{errors:?}"
        );
        assert_eq!(errors[0].line, 0);
        let missing = dir.0.join("nowhere");
        let errors = load_dir(&missing).unwrap_err();
        let shown = errors[0].to_string();
        assert!(
            shown.starts_with(&format!("{}: cannot read", missing.display())),
            "{shown}"
        );
    }
}
