//! The set of playbooks a server offers: every file valid, every id used once.

use std::collections::BTreeMap;

use super::{parse, validate, Playbook, PlaybookError};

/// The playbooks by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    playbooks: BTreeMap<String, Playbook>,
}

impl Catalog {
    /// Builds the catalog from `(file name, text)` pairs, reporting every broken file (its first
    /// problem each) and every id used by a second file, so one start-up attempt shows them all.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Vec<PlaybookError>> {
        let mut files: Vec<(String, String)> = files.into_iter().collect();
        // File order decides which of two files with the same id is "the second".
        files.sort();
        let mut playbooks = BTreeMap::new();
        let mut first_file: BTreeMap<String, String> = BTreeMap::new();
        let mut errors = Vec::new();
        for (file, text) in &files {
            match parse(file, text) {
                Err(e) => errors.push(e),
                Ok(p) => {
                    if let Some(first) = first_file.get(p.id()) {
                        errors.push(PlaybookError {
                            file: file.clone(),
                            line: validate::id_line(text),
                            reason: format!("playbook id {:?} is already used by {first}", p.id()),
                        });
                    } else {
                        first_file.insert(p.id().to_owned(), file.clone());
                        playbooks.insert(p.id().to_owned(), p);
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Self { playbooks })
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.get(id)
    }

    /// By id.
    pub fn list(&self) -> impl Iterator<Item = &Playbook> {
        self.playbooks.values()
    }

    pub fn len(&self) -> usize {
        self.playbooks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.playbooks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(id: &str, title: &str) -> String {
        format!(
            "# {title}\nid = \"{id}\"\ntitle = \"{title}\"\nversion = 1\ndescription = \"d\"\n\n[[steps]]\nid = \"review\"\ntitle = \"Review\"\nkind = \"review\"\ninstructions = \"Write it up.\"\n"
        )
    }

    #[test]
    fn playbooks_are_found_by_id_and_listed_in_id_order() {
        let c = Catalog::from_files([
            ("b.toml".to_owned(), playbook("storm", "Storm")),
            ("a.toml".to_owned(), playbook("compromise", "Compromise")),
        ])
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("storm").unwrap().title(), "Storm");
        assert!(c.get("nothing").is_none());
        let ids: Vec<&str> = c.list().map(|p| p.id()).collect();
        assert_eq!(ids, ["compromise", "storm"]);
    }

    #[test]
    fn a_second_file_with_the_same_id_is_refused_at_its_id_line() {
        let errors = Catalog::from_files([
            ("z-copy.toml".to_owned(), playbook("storm", "Copy")),
            ("storm.toml".to_owned(), playbook("storm", "Storm")),
        ])
        .unwrap_err();
        assert_eq!(
            errors,
            [PlaybookError {
                file: "z-copy.toml".into(),
                line: 2,
                reason: "playbook id \"storm\" is already used by storm.toml".into()
            }]
        );
    }

    #[test]
    fn every_broken_file_is_reported() {
        let errors = Catalog::from_files([
            ("a.toml".to_owned(), "id = ".to_owned()),
            ("b.toml".to_owned(), playbook("fine", "Fine")),
            ("c.toml".to_owned(), playbook("Bad Id", "Bad")),
        ])
        .unwrap_err();
        let shown: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{}", e.file, e.line))
            .collect();
        assert_eq!(shown, ["a.toml:1", "c.toml:2"]);
    }
}
