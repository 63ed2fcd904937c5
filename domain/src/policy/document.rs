//! The policy-as-code documents as people write them, in YAML or JSON. These types are only the
//! shape: every field is kept as written (strings, optional values) so that validation can report
//! every problem at once, with its path, instead of stopping at the first. Unknown fields are
//! refused: a misspelt `requireDigst: true` must not silently mean `false`.

use serde::{Deserialize, Serialize};

/// The `apiVersion` every document carries.
pub const API_VERSION: &str = "trustwatch.dev/v1";

/// `kind: Policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: PolicySpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicySpec {
    /// Globs over `registry/repository`.
    pub images: Vec<String>,
    /// Cluster-name globs; absent means every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Namespace globs; absent means every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// `enforce` (the default), `warn` or `audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `exact`, `repository` (the default) or `ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_digest: Option<bool>,
    /// `90d`, `12h`, `30m`, `45s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_signature_age: Option<String>,
    pub authorities: AuthoritiesSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthoritiesSpec {
    /// How many of the authorities must have signed; absent means all of them. Signed so that
    /// a negative number reaches validation and gets a proper message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
    /// Key names; each key is one authority.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Key-group names; each group is one authority, satisfied by any one of its keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// `kind: KeyGroup`: a named set of keys that a policy can trust as one authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyGroupDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: KeyGroupSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGroupSpec {
    pub keys: Vec<String>,
}
