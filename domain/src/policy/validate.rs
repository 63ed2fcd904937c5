//! From documents to policies: every problem at once, each with its field path.

use serde::Deserialize;

use super::{
    Authority, IdentityRule, ImageGlob, KeyGroup, KeyGroupDocument, Mode, NameGlob, Policy,
    PolicyDocument, PolicyItem, Problem, Problems, SignatureAge, API_VERSION,
};

/// Policy and key-group names: what the database and Kubernetes accept as a DNS label,
/// `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`.
pub fn is_valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter().all(|c| edge(c) || *c == b'-')
}

/// Key names are freer (the keys table allows any 1 to 100 characters); we only refuse what
/// cannot be told apart when read: control characters and surrounding spaces.
pub fn is_valid_key_name(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 100 && s.trim() == s && !s.chars().any(char::is_control)
}

const NAME_RULE: &str =
    "must be 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit";

struct Collector(Vec<Problem>);

impl Collector {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }

    fn header(&mut self, api_version: &str, kind: &str, expected_kind: &str, name: &str) {
        if api_version != API_VERSION {
            self.push(
                "apiVersion",
                format!("{api_version:?} is not supported: use {API_VERSION}"),
            );
        }
        if kind != expected_kind {
            self.push("kind", format!("expected {expected_kind}, found {kind:?}"));
        }
        if !is_valid_name(name) {
            self.push("metadata.name", format!("{name:?} {NAME_RULE}"));
        }
    }

    fn name_globs(&mut self, path: &str, globs: &Option<Vec<String>>) -> Option<Vec<NameGlob>> {
        let globs = globs.as_ref()?;
        if globs.is_empty() {
            self.push(
                path,
                "an empty list would cover nothing: leave the field out to cover all",
            );
        }
        Some(
            globs
                .iter()
                .enumerate()
                .filter_map(|(i, g)| {
                    NameGlob::parse(g)
                        .map_err(|e| self.push(format!("{path}[{i}]"), e))
                        .ok()
                })
                .collect(),
        )
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Problems> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(Problems(self.0))
        }
    }
}

pub(super) fn policy(doc: &PolicyDocument) -> Result<Policy, Problems> {
    let mut c = Collector(Vec::new());
    c.header(&doc.api_version, &doc.kind, "Policy", &doc.metadata.name);
    let spec = &doc.spec;

    if spec.images.is_empty() {
        c.push("spec.images", "name at least one image glob");
    }
    let images: Vec<ImageGlob> = spec
        .images
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            ImageGlob::parse(g)
                .map_err(|e| c.push(format!("spec.images[{i}]"), e))
                .ok()
        })
        .collect();
    let clusters = c.name_globs("spec.clusters", &spec.clusters);
    let namespaces = c.name_globs("spec.namespaces", &spec.namespaces);

    let mode = match spec.mode.as_deref().map(Mode::parse) {
        None => Mode::Enforce,
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            c.push("spec.mode", e);
            Mode::Enforce
        }
    };
    let identity = match spec.identity.as_deref().map(IdentityRule::parse) {
        None => IdentityRule::Repository,
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            c.push("spec.identity", e);
            IdentityRule::Repository
        }
    };
    let max_signature_age = spec.max_signature_age.as_deref().and_then(|s| {
        SignatureAge::parse(s)
            .map_err(|e| c.push("spec.maxSignatureAge", e))
            .ok()
    });

    let auth = &spec.authorities;
    let mut authorities = Vec::new();
    for (i, key) in auth.keys.iter().enumerate() {
        let path = format!("spec.authorities.keys[{i}]");
        if !is_valid_key_name(key) {
            c.push(path, format!("{key:?} is not a key name"));
        } else if auth.keys[..i].contains(key) {
            c.push(path, format!("{key:?} is listed twice"));
        } else {
            authorities.push(Authority::Key(key.clone()));
        }
    }
    for (i, group) in auth.groups.iter().enumerate() {
        let path = format!("spec.authorities.groups[{i}]");
        if !is_valid_name(group) {
            c.push(
                path,
                format!("{group:?} is not a key-group name: it {NAME_RULE}"),
            );
        } else if auth.groups[..i].contains(group) {
            c.push(path, format!("{group:?} is listed twice"));
        } else {
            authorities.push(Authority::Group(group.clone()));
        }
    }
    let listed = auth.keys.len() + auth.groups.len();
    if listed == 0 {
        c.push(
            "spec.authorities",
            "name at least one key or key group: a policy without authorities can never be satisfied",
        );
    }
    let threshold = match auth.threshold {
        None => listed,
        Some(t) if t < 1 => {
            c.push(
                "spec.authorities.threshold",
                format!("{t} would accept unsigned images: it must be at least 1"),
            );
            0
        }
        Some(t) if t as u64 > listed as u64 => {
            c.push(
                "spec.authorities.threshold",
                format!(
                    "{t} can never be met: only {listed} authorit{} listed",
                    if listed == 1 { "y is" } else { "ies are" }
                ),
            );
            0
        }
        Some(t) => t as usize,
    };

    c.finish(|| Policy {
        name: doc.metadata.name.clone(),
        images,
        clusters,
        namespaces,
        mode,
        identity,
        require_digest: spec.require_digest.unwrap_or(false),
        max_signature_age,
        authorities,
        threshold,
        threshold_written: auth.threshold.is_some(),
    })
}

pub(super) fn key_group(doc: &KeyGroupDocument) -> Result<KeyGroup, Problems> {
    let mut c = Collector(Vec::new());
    c.header(&doc.api_version, &doc.kind, "KeyGroup", &doc.metadata.name);
    if doc.spec.keys.is_empty() {
        c.push(
            "spec.keys",
            "name at least one key: an empty group can never sign",
        );
    }
    for (i, key) in doc.spec.keys.iter().enumerate() {
        let path = format!("spec.keys[{i}]");
        if !is_valid_key_name(key) {
            c.push(path, format!("{key:?} is not a key name"));
        } else if doc.spec.keys[..i].contains(key) {
            c.push(path, format!("{key:?} is listed twice"));
        }
    }
    c.finish(|| KeyGroup {
        name: doc.metadata.name.clone(),
        keys: doc.spec.keys.clone(),
    })
}

pub(super) fn documents(text: &str) -> Result<Vec<(usize, PolicyItem)>, Problems> {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let mut prefixed = |i: usize, ps: Problems| {
        problems.extend(ps.0.into_iter().map(|p| {
            let path = if p.path.is_empty() {
                format!("documents[{i}]")
            } else {
                format!("documents[{i}].{}", p.path)
            };
            Problem::new(path, p.message)
        }))
    };
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = match serde_yaml::Value::deserialize(de) {
            Ok(serde_yaml::Value::Null) => continue,
            Ok(v) => v,
            Err(e) => {
                prefixed(i, Problems::one("", format!("not valid YAML: {e}")));
                // After a syntax error the stream's position is unknown; stop reading.
                break;
            }
        };
        let shape = |e: serde_yaml::Error| Problems::one("", e.to_string());
        let item = match value.get("kind").and_then(serde_yaml::Value::as_str) {
            Some("Policy") => serde_yaml::from_value(value)
                .map_err(shape)
                .and_then(|d| policy(&d))
                .map(PolicyItem::Policy),
            Some("KeyGroup") => serde_yaml::from_value(value)
                .map_err(shape)
                .and_then(|d| key_group(&d))
                .map(PolicyItem::KeyGroup),
            Some(other) => Err(Problems::one(
                "kind",
                format!("{other:?} is not a kind: expected Policy or KeyGroup"),
            )),
            None => Err(Problems::one("kind", "is required (Policy or KeyGroup)")),
        };
        match item {
            Ok(item) => {
                let duplicate =
                    items
                        .iter()
                        .any(|(_, seen): &(usize, PolicyItem)| match (seen, &item) {
                            (PolicyItem::Policy(a), PolicyItem::Policy(b)) => a.name() == b.name(),
                            (PolicyItem::KeyGroup(a), PolicyItem::KeyGroup(b)) => {
                                a.name() == b.name()
                            }
                            _ => false,
                        });
                if duplicate {
                    prefixed(
                        i,
                        Problems::one(
                            "metadata.name",
                            "another document of this kind has this name",
                        ),
                    );
                }
                items.push((i, item));
            }
            Err(ps) => prefixed(i, ps),
        }
    }
    if problems.is_empty() && items.is_empty() {
        problems.push(Problem::new("", "no documents found"));
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(Problems(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: &str = r#"
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: prod-images}
spec:
  images: ["registry.example.com/payments/*"]
  clusters: ["prod-*"]
  namespaces: ["*"]
  mode: enforce
  identity: repository
  requireDigest: false
  maxSignatureAge: 90d
  authorities: {threshold: 2, keys: [ci-release, security-review], groups: [release-team]}
"#;

    #[test]
    fn reads_the_documented_example() {
        let p = Policy::from_yaml(PROD).unwrap();
        assert_eq!(p.name(), "prod-images");
        assert_eq!(p.mode(), Mode::Enforce);
        assert_eq!(p.identity(), IdentityRule::Repository);
        assert!(!p.require_digest());
        assert_eq!(p.max_signature_age().unwrap().duration().num_days(), 90);
        assert_eq!(p.threshold(), 2);
        assert_eq!(
            p.authorities(),
            &[
                Authority::Key("ci-release".into()),
                Authority::Key("security-review".into()),
                Authority::Group("release-team".into()),
            ]
        );
        let image = crate::ImageReference::parse("registry.example.com/payments/api:1").unwrap();
        assert!(p.applies_to(&image, "prod-eu", "payments"));
        assert!(!p.applies_to(&image, "staging", "payments"));
        let other = crate::ImageReference::parse("registry.example.com/web/api:1").unwrap();
        assert!(!p.applies_to(&other, "prod-eu", "payments"));
    }

    #[test]
    fn yaml_and_json_round_trip() {
        let p = Policy::from_yaml(PROD).unwrap();
        let yaml = p.to_yaml();
        assert!(yaml.contains("apiVersion: trustwatch.dev/v1"), "{yaml}");
        assert!(yaml.contains("maxSignatureAge: 90d"), "{yaml}");
        assert_eq!(Policy::from_yaml(&yaml).unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""requireDigest":false"#), "{json}");
        assert_eq!(Policy::from_json(&json).unwrap(), p);
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
    }

    #[test]
    fn defaults_are_written_out_on_export() {
        let p = Policy::from_yaml(
            "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: minimal}\nspec:\n  images: ['**']\n  authorities: {keys: [a, b]}\n",
        )
        .unwrap();
        assert_eq!(p.mode(), Mode::Enforce);
        assert_eq!(p.identity(), IdentityRule::Repository);
        assert_eq!(p.threshold(), 2, "no threshold means all authorities");
        assert_eq!(p.clusters(), None);
        let doc = p.to_document();
        assert_eq!(doc.spec.mode.as_deref(), Some("enforce"));
        assert_eq!(doc.spec.authorities.threshold, None);
        assert_eq!(Policy::from_document(&doc).unwrap(), p);
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let bad = r#"
apiVersion: trustwatch.dev/v2
kind: Policy
metadata: {name: Prod_Images}
spec:
  images: ["nginx", "reg.io/ok/*", "reg.io/app:v1"]
  clusters: []
  namespaces: ["a/b"]
  mode: block
  identity: strict
  maxSignatureAge: 3 months
  authorities: {threshold: 5, keys: [a, a, " b"], groups: [Team]}
"#;
        let problems = Policy::from_yaml(bad).unwrap_err();
        for path in [
            "apiVersion",
            "metadata.name",
            "spec.images[0]",
            "spec.images[2]",
            "spec.clusters",
            "spec.namespaces[0]",
            "spec.mode",
            "spec.identity",
            "spec.maxSignatureAge",
            "spec.authorities.keys[1]",
            "spec.authorities.keys[2]",
            "spec.authorities.groups[0]",
            "spec.authorities.threshold",
        ] {
            assert!(problems.has(path), "no problem at {path}: {problems}");
        }
        assert!(!problems.has("spec.images[1]"));
    }

    #[test]
    fn refuses_policies_that_cannot_mean_anything_safe() {
        let with = |authorities: &str| {
            format!("apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: p}}\nspec:\n  images: ['**']\n  authorities: {authorities}\n")
        };
        for (authorities, path) in [
            ("{}", "spec.authorities"),
            ("{keys: []}", "spec.authorities"),
            ("{threshold: 0, keys: [a]}", "spec.authorities.threshold"),
            ("{threshold: -1, keys: [a]}", "spec.authorities.threshold"),
            ("{threshold: 2, keys: [a]}", "spec.authorities.threshold"),
        ] {
            let problems = Policy::from_yaml(&with(authorities)).unwrap_err();
            assert!(problems.has(path), "{authorities}: {problems}");
        }
        assert!(Policy::from_yaml(&with("{threshold: 1, keys: [a]}")).is_ok());
    }

    #[test]
    fn refuses_unknown_fields() {
        let misspelt = PROD.replace("requireDigest", "requireDigst");
        let err = Policy::from_yaml(&misspelt).unwrap_err().to_string();
        assert!(err.contains("requireDigst"), "{err}");
        let extra = PROD.replace(
            "metadata: {name: prod-images}",
            "metadata: {name: prod-images, owner: x}",
        );
        assert!(Policy::from_yaml(&extra).is_err());
    }

    #[test]
    fn key_groups() {
        let g = KeyGroup::from_yaml(
            "apiVersion: trustwatch.dev/v1\nkind: KeyGroup\nmetadata: {name: release-team}\nspec: {keys: [alice, bob]}\n",
        )
        .unwrap();
        assert_eq!(g.keys(), ["alice", "bob"]);
        assert_eq!(KeyGroup::from_yaml(&g.to_yaml()).unwrap(), g);
        assert!(KeyGroup::new("team", vec![]).unwrap_err().has("spec.keys"));
        assert!(KeyGroup::new("team", vec!["a".into(), "a".into()])
            .unwrap_err()
            .has("spec.keys[1]"));
        assert!(KeyGroup::new("Team", vec!["a".into()])
            .unwrap_err()
            .has("metadata.name"));
    }

    #[test]
    fn reads_a_file_of_documents() {
        let file = format!(
            "{PROD}---\napiVersion: trustwatch.dev/v1\nkind: KeyGroup\nmetadata: {{name: release-team}}\nspec: {{keys: [alice]}}\n"
        );
        let items = crate::policy::parse_documents(&file).unwrap();
        assert_eq!(items.len(), 2);
        let again =
            crate::policy::parse_documents(&crate::policy::to_yaml_documents(&items)).unwrap();
        assert_eq!(again, items);

        let bad = format!(
            "{PROD}---\nkind: Secret\n---\n{}---\n{PROD}",
            PROD.replace("threshold: 2", "threshold: 9")
        );
        let problems = crate::policy::parse_documents(&bad).unwrap_err();
        assert!(problems.has("documents[1].kind"), "{problems}");
        assert!(
            problems.has("documents[2].spec.authorities.threshold"),
            "{problems}"
        );
        assert!(
            problems.has("documents[3].metadata.name"),
            "duplicate name: {problems}"
        );
        assert!(crate::policy::parse_documents("").is_err());
    }

    #[test]
    fn items_know_their_document_position() {
        let file = format!(
            "---
---
{PROD}---
# only a comment
---
{PROD}"
        )
        .replacen("prod-images", "other", 1);
        let items = crate::policy::parse_documents_indexed(&file).unwrap();
        let positions: Vec<usize> = items.iter().map(|(i, _)| *i).collect();
        assert_eq!(positions, [1, 3]);
    }

    #[test]
    fn key_names_are_what_the_keys_table_allows() {
        for good in [
            "ci-release",
            "CI release key",
            "team/key:2",
            &"k".repeat(100),
        ] {
            assert!(is_valid_key_name(good), "{good}");
        }
        for bad in ["", " a", "a ", "a\nb", &"k".repeat(101)] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        for good in ["a", "prod-images", "a1", &"a".repeat(63)] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
