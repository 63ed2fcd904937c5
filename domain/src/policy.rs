//! Verification policies: which images, in which clusters and namespaces, need signatures from
//! which authorities, how many of them, and what happens when they are missing.
//!
//! Policies are documents people keep in git (`kind: Policy`, `kind: KeyGroup`, see
//! [`document`]). A document enters the system only through validation, which reports every
//! problem with its field path; what comes out, [`Policy`] and [`KeyGroup`], is always usable:
//! at least one authority, a threshold between 1 and the number of authorities, globs that parse.
//! [`Policy::to_document`] writes the same shape back, so export and re-import round-trip.

pub mod document;
pub mod duration;
pub mod glob;
pub mod rotation;
mod validate;

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::image::ImageReference;
pub use document::{
    AuthoritiesSpec, KeyGroupDocument, KeyGroupSpec, Metadata, PolicyDocument, PolicySpec,
    API_VERSION,
};
pub use duration::SignatureAge;
pub use glob::{ImageGlob, NameGlob};
pub use validate::{is_valid_key_name, is_valid_name};

/// What a failing policy does to the admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse the image.
    Enforce,
    /// Admit it, and tell the person who deployed it.
    Warn,
    /// Admit it silently; the failure is only recorded.
    Audit,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Enforce, Mode::Warn, Mode::Audit];

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a mode: expected enforce, warn or audit"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }

    /// Higher is stricter: enforce over warn over audit.
    pub fn strictness(self) -> u8 {
        match self {
            Mode::Enforce => 2,
            Mode::Warn => 1,
            Mode::Audit => 0,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the identity a signature names (`critical.identity.docker-reference`) must relate to the
/// image being deployed. cosign ignores the identity; skopeo and podman insist on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityRule {
    /// Deployed by tag: the signature names the same repository and the same tag. Deployed by
    /// digest: the same repository (containers/image's `matchRepoDigestOrExact`).
    Exact,
    /// The same `registry/repository`; tags are ignored. cosign's own payloads (which name the
    /// bare repository) pass this.
    Repository,
    /// Not checked: a valid signature over the digest suffices, as in cosign.
    Ignore,
}

impl IdentityRule {
    pub const ALL: [IdentityRule; 3] = [
        IdentityRule::Exact,
        IdentityRule::Repository,
        IdentityRule::Ignore,
    ];

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not an identity rule: expected exact, repository or ignore")
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityRule::Exact => "exact",
            IdentityRule::Repository => "repository",
            IdentityRule::Ignore => "ignore",
        }
    }
}

impl fmt::Display for IdentityRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One party whose signature a policy counts: a single key, or a group of which any one key
/// may sign on the group's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum Authority {
    Key(String),
    Group(String),
}

impl Authority {
    pub fn name(&self) -> &str {
        match self {
            Authority::Key(n) | Authority::Group(n) => n,
        }
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authority::Key(n) => f.write_str(n),
            Authority::Group(n) => write!(f, "group {n}"),
        }
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    name: String,
    images: Vec<ImageGlob>,
    clusters: Option<Vec<NameGlob>>,
    namespaces: Option<Vec<NameGlob>>,
    mode: Mode,
    identity: IdentityRule,
    require_digest: bool,
    max_signature_age: Option<SignatureAge>,
    /// Keys first, then groups, each in the order written; never empty.
    authorities: Vec<Authority>,
    /// Between 1 and `authorities.len()`.
    threshold: usize,
    /// Whether the document wrote the threshold, so export writes back what was there.
    threshold_written: bool,
}

impl Policy {
    /// Validates a document; every problem is reported, each with its field path.
    pub fn from_document(doc: &PolicyDocument) -> Result<Self, Problems> {
        validate::policy(doc)
    }

    /// Parses and validates one `kind: Policy` document in YAML (JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Self, Problems> {
        let doc: PolicyDocument = serde_yaml::from_str(text).map_err(Problems::from_yaml)?;
        Self::from_document(&doc)
    }

    /// Parses and validates one `kind: Policy` document in JSON.
    pub fn from_json(text: &str) -> Result<Self, Problems> {
        let doc: PolicyDocument = serde_json::from_str(text)
            .map_err(|e| Problems::one("", format!("not a policy document: {e}")))?;
        Self::from_document(&doc)
    }

    /// The document this policy was read from, with defaults written out.
    pub fn to_document(&self) -> PolicyDocument {
        let names = |globs: &Vec<NameGlob>| globs.iter().map(|g| g.as_str().to_owned()).collect();
        PolicyDocument {
            api_version: API_VERSION.to_owned(),
            kind: "Policy".to_owned(),
            metadata: Metadata {
                name: self.name.clone(),
            },
            spec: PolicySpec {
                images: self.images.iter().map(|g| g.as_str().to_owned()).collect(),
                clusters: self.clusters.as_ref().map(names),
                namespaces: self.namespaces.as_ref().map(names),
                mode: Some(self.mode.as_str().to_owned()),
                identity: Some(self.identity.as_str().to_owned()),
                require_digest: Some(self.require_digest),
                max_signature_age: self.max_signature_age.as_ref().map(|a| a.to_string()),
                authorities: AuthoritiesSpec {
                    threshold: self.threshold_written.then_some(self.threshold as i64),
                    keys: self.key_authorities().map(str::to_owned).collect(),
                    groups: self.group_authorities().map(str::to_owned).collect(),
                },
            },
        }
    }

    /// The policy as a YAML document, the shape it is written in.
    pub fn to_yaml(&self) -> String {
        // Serializing plain strings, booleans and numbers cannot fail.
        serde_yaml::to_string(&self.to_document()).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn images(&self) -> &[ImageGlob] {
        &self.images
    }

    /// `None`: every cluster.
    pub fn clusters(&self) -> Option<&[NameGlob]> {
        self.clusters.as_deref()
    }

    /// `None`: every namespace.
    pub fn namespaces(&self) -> Option<&[NameGlob]> {
        self.namespaces.as_deref()
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn identity(&self) -> IdentityRule {
        self.identity
    }

    pub fn require_digest(&self) -> bool {
        self.require_digest
    }

    pub fn max_signature_age(&self) -> Option<&SignatureAge> {
        self.max_signature_age.as_ref()
    }

    pub fn authorities(&self) -> &[Authority] {
        &self.authorities
    }

    /// How many distinct authorities must have signed.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    pub fn key_authorities(&self) -> impl Iterator<Item = &str> {
        self.authorities.iter().filter_map(|a| match a {
            Authority::Key(n) => Some(n.as_str()),
            Authority::Group(_) => None,
        })
    }

    pub fn group_authorities(&self) -> impl Iterator<Item = &str> {
        self.authorities.iter().filter_map(|a| match a {
            Authority::Group(n) => Some(n.as_str()),
            Authority::Key(_) => None,
        })
    }

    /// Whether this policy covers `image` deployed in `cluster` and `namespace`.
    pub fn applies_to(&self, image: &ImageReference, cluster: &str, namespace: &str) -> bool {
        self.applies_to_name(&image.name(), cluster, namespace)
    }

    /// [`Self::applies_to`] for an image's `registry/repository` already written out, so that
    /// matching one image against many policies builds its name once.
    pub fn applies_to_name(&self, name: &str, cluster: &str, namespace: &str) -> bool {
        self.images.iter().any(|g| g.matches(name))
            && self
                .clusters
                .as_ref()
                .is_none_or(|globs| globs.iter().any(|g| g.matches(cluster)))
            && self
                .namespaces
                .as_ref()
                .is_none_or(|globs| globs.iter().any(|g| g.matches(namespace)))
    }

    /// Changes the mode, e.g. to try a policy in `audit` before enforcing it.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

#[cfg(test)]
impl Policy {
    /// Skips validation, to show that evaluation fails closed on what validation refuses.
    pub(crate) fn unvalidated(mut self, authorities: Vec<Authority>, threshold: usize) -> Self {
        self.authorities = authorities;
        self.threshold = threshold;
        self
    }
}

impl Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_document().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = PolicyDocument::deserialize(d)?;
        Self::from_document(&doc).map_err(serde::de::Error::custom)
    }
}

/// A validated key group: a name and at least one key name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGroup {
    name: String,
    keys: Vec<String>,
}

impl KeyGroup {
    pub fn from_document(doc: &KeyGroupDocument) -> Result<Self, Problems> {
        validate::key_group(doc)
    }

    /// A key group built from stored rows rather than a document; validated the same way.
    pub fn new(name: &str, keys: Vec<String>) -> Result<Self, Problems> {
        Self::from_document(&KeyGroupDocument {
            api_version: API_VERSION.to_owned(),
            kind: "KeyGroup".to_owned(),
            metadata: Metadata {
                name: name.to_owned(),
            },
            spec: KeyGroupSpec { keys },
        })
    }

    pub fn from_yaml(text: &str) -> Result<Self, Problems> {
        let doc: KeyGroupDocument = serde_yaml::from_str(text).map_err(Problems::from_yaml)?;
        Self::from_document(&doc)
    }

    pub fn to_document(&self) -> KeyGroupDocument {
        KeyGroupDocument {
            api_version: API_VERSION.to_owned(),
            kind: "KeyGroup".to_owned(),
            metadata: Metadata {
                name: self.name.clone(),
            },
            spec: KeyGroupSpec {
                keys: self.keys.clone(),
            },
        }
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.to_document()).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}

impl Serialize for KeyGroup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_document().serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyGroup {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = KeyGroupDocument::deserialize(d)?;
        Self::from_document(&doc).map_err(serde::de::Error::custom)
    }
}

/// One document of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyItem {
    Policy(Policy),
    KeyGroup(KeyGroup),
}

impl PolicyItem {
    pub fn to_yaml(&self) -> String {
        match self {
            PolicyItem::Policy(p) => p.to_yaml(),
            PolicyItem::KeyGroup(g) => g.to_yaml(),
        }
    }
}

/// Parses a file of YAML documents separated by `---`, each a `Policy` or a `KeyGroup`. Problems
/// of every document are reported together, paths prefixed with `documents[i]`. Names must be
/// unique per kind within the file.
pub fn parse_documents(text: &str) -> Result<Vec<PolicyItem>, Problems> {
    Ok(parse_documents_indexed(text)?
        .into_iter()
        .map(|(_, item)| item)
        .collect())
}

/// As [`parse_documents`], each item with the position of its document in the file (empty
/// documents count), so that later checks (do the keys a policy names exist?) can report
/// problems at `documents[i]` as well.
pub fn parse_documents_indexed(text: &str) -> Result<Vec<(usize, PolicyItem)>, Problems> {
    validate::documents(text)
}

/// Writes documents back as one YAML file.
pub fn to_yaml_documents(items: &[PolicyItem]) -> String {
    items
        .iter()
        .map(PolicyItem::to_yaml)
        .collect::<Vec<_>>()
        .join("---\n")
}

/// One thing wrong with a document: where (`spec.authorities.threshold`) and what.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Everything wrong with a document; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![Problem::new(path, message)])
    }

    /// serde_yaml's message already names the field path and the line.
    fn from_yaml(e: serde_yaml::Error) -> Self {
        Self::one("", format!("not a valid document: {e}"))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// Whether some problem is at `path` exactly.
    pub fn has(&self, path: &str) -> bool {
        self.0.iter().any(|p| p.path == path)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Vec<String> = self.0.iter().map(Problem::to_string).collect();
        f.write_str(&all.join("; "))
    }
}
