//! Trustwatch's policies written as the objects other admission engines read: Kyverno
//! `ClusterPolicy` (`kyverno.io/v1`, a `verifyImages` rule), Kyverno `ImageValidatingPolicy`
//! (`policies.kyverno.io/v1`) and sigstore policy-controller `ClusterImagePolicy`
//! (`policy.sigstore.dev/v1beta1`).
//!
//! During a key compromise the clusters those engines run need the same policies *without the
//! compromised key*, and fast. So the export is deterministic (the same bundle and the same keys
//! to leave out give the same bytes), inlines every public key's PEM (nothing to fetch from a
//! Secret or a KMS), and errs in one direction only: where an engine cannot say exactly what
//! Trustwatch's policy says, the document says more (covers more images, trusts fewer keys) and
//! never less without a comment saying so at its top. A policy whose trusted keys are all gone
//! is written so that it refuses every image it covers; no engine is ever handed an empty
//! authority list, which some of them treat as "nothing to check".
//!
//! What is left out, and why:
//!
//! - keys the caller names (the compromised ones, before their status is even changed);
//! - revoked keys;
//! - keys compromised since some time T: Trustwatch still counts a signature it recorded before
//!   T, but the other engines have no trusted signing time, so they cannot tell it from a
//!   forgery made with the stolen key;
//! - keys outside their validity window at the time of the export, for the same reason.
//!
//! Each document starts with YAML comments naming what was left out and what the engine cannot
//! express (the identity rule, `maxSignatureAge`, and per engine a few more).

mod cache;
mod image_validating_policy;
mod kyverno;
mod names;
mod plan;
mod policy_controller;

use chrono::{DateTime, Utc};
use std::fmt;

use crate::engine::Engine;
use crate::fingerprint::KeyFingerprint;
use crate::trust_bundle::TrustBundle;
use crate::ParseError;

pub use cache::{cache_expiry_estimate, cache_expiry_note};

/// Which engine's object to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// Kyverno `ClusterPolicy` with a `verifyImages` rule (`kyverno.io/v1`).
    KyvernoClusterPolicy,
    /// Kyverno `ImageValidatingPolicy` (`policies.kyverno.io/v1`, CEL).
    KyvernoImageValidatingPolicy,
    /// sigstore policy-controller `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`).
    PolicyController,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [
        ExportFormat::KyvernoClusterPolicy,
        ExportFormat::KyvernoImageValidatingPolicy,
        ExportFormat::PolicyController,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "{s:?} is not an export format: expected kyverno-cluster-policy, \
                     kyverno-image-validating-policy or policy-controller"
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::KyvernoClusterPolicy => "kyverno-cluster-policy",
            ExportFormat::KyvernoImageValidatingPolicy => "kyverno-image-validating-policy",
            ExportFormat::PolicyController => "policy-controller",
        }
    }

    /// The engine that reads this format.
    pub fn engine(self) -> Engine {
        match self {
            ExportFormat::KyvernoClusterPolicy | ExportFormat::KyvernoImageValidatingPolicy => {
                Engine::Kyverno
            }
            ExportFormat::PolicyController => Engine::PolicyController,
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            ExportFormat::KyvernoClusterPolicy => kyverno::API_VERSION,
            ExportFormat::KyvernoImageValidatingPolicy => image_validating_policy::API_VERSION,
            ExportFormat::PolicyController => policy_controller::API_VERSION,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            ExportFormat::KyvernoClusterPolicy => kyverno::KIND,
            ExportFormat::KyvernoImageValidatingPolicy => image_validating_policy::KIND,
            ExportFormat::PolicyController => policy_controller::KIND,
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Kubernetes object to apply: its name and kind, and the YAML (comments first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportedDocument {
    /// The Trustwatch policy it was written from. policy-controller may need several objects
    /// for one policy (see `policy_controller`), so this is not always unique.
    pub policy: String,
    /// `metadata.name`: a valid Kubernetes object name, derived from the policy's name.
    pub name: String,
    pub kind: String,
    pub yaml: String,
}

/// Writes every policy of `bundle` for `format`, leaving out the keys whose fingerprint is in
/// `without` and every key other engines must not trust (see the module documentation). `now`
/// decides which keys are inside their validity window. Documents come in the bundle's policy
/// order, each policy's objects together.
pub fn export(
    bundle: &TrustBundle,
    format: ExportFormat,
    without: &[KeyFingerprint],
    now: DateTime<Utc>,
) -> Vec<ExportedDocument> {
    bundle
        .policies()
        .iter()
        .flat_map(|policy| {
            let plan = plan::plan(bundle, policy, without, now);
            match format {
                ExportFormat::KyvernoClusterPolicy => vec![kyverno::render(&plan)],
                ExportFormat::KyvernoImageValidatingPolicy => {
                    vec![image_validating_policy::render(&plan)]
                }
                ExportFormat::PolicyController => policy_controller::render(&plan),
            }
        })
        .collect()
}

/// The documents as one multi-document YAML file, ready for `kubectl apply -f -`.
pub fn to_multi_document_yaml(documents: &[ExportedDocument]) -> String {
    documents
        .iter()
        .map(|d| d.yaml.as_str())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// One exported object of `kind` for Trustwatch policy `policy`: the labels and annotations every
/// export carries (plus `annotations`), its `spec`, and the comment lines above it.
#[allow(clippy::too_many_arguments)]
fn document(
    api_version: &str,
    kind: &str,
    name: String,
    policy: &str,
    bundle_version: u64,
    annotations: &[(&str, String)],
    spec: serde_json::Value,
    comments: &[String],
) -> ExportedDocument {
    let mut all = serde_json::Map::new();
    all.insert("trustwatch.dev/policy".into(), policy.into());
    all.insert(
        "trustwatch.dev/bundle-version".into(),
        bundle_version.to_string().into(),
    );
    for (k, v) in annotations {
        all.insert((*k).into(), v.clone().into());
    }
    let object = serde_json::json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "trustwatch"},
            "annotations": all,
        },
        "spec": spec,
    });
    ExportedDocument {
        policy: policy.to_owned(),
        name,
        kind: kind.to_owned(),
        yaml: yaml_document(comments, &object),
    }
}

/// Serializes an object built with `serde_json::json!` after the comment lines. Serializing
/// strings, numbers, booleans and maps cannot fail.
fn yaml_document(comments: &[String], object: &serde_json::Value) -> String {
    let mut out = String::new();
    for line in comments {
        out.push_str("# ");
        // Key names may hold any printable text; a line break would end the comment.
        out.push_str(&line.replace(|c: char| c.is_control(), " "));
        out.push('\n');
    }
    out.push_str(&serde_yaml::to_string(object).unwrap_or_default());
    out
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn formats_round_trip_and_refuse_others() {
        for f in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(f.as_str()), Ok(f));
        }
        let err = ExportFormat::parse("gatekeeper").unwrap_err();
        assert!(err.0.contains("kyverno-cluster-policy"), "{err}");
        assert_eq!(
            ExportFormat::KyvernoImageValidatingPolicy.engine(),
            Engine::Kyverno
        );
        assert_eq!(
            ExportFormat::PolicyController.engine(),
            Engine::PolicyController
        );
    }

    #[test]
    fn exports_are_deterministic_and_concatenate() {
        let s = Scenario::new();
        for format in ExportFormat::ALL {
            let a = export(&s.bundle, format, &[], now());
            let b = export(&s.bundle, format, &[], now());
            assert_eq!(a, b);
            let all = to_multi_document_yaml(&a);
            let parsed: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&all)
                .map(|d| serde::Deserialize::deserialize(d).unwrap())
                .collect();
            assert_eq!(parsed.len(), a.len(), "{all}");
            for (doc, value) in a.iter().zip(&parsed) {
                assert_eq!(value["kind"].as_str(), Some(format.kind()));
                assert_eq!(value["apiVersion"].as_str(), Some(format.api_version()));
                assert_eq!(value["metadata"]["name"].as_str(), Some(doc.name.as_str()));
                assert_eq!(doc.kind, format.kind());
            }
        }
    }

    #[test]
    fn comments_cannot_break_out_of_their_line() {
        let text = yaml_document(
            &["one\nkind: Evil".to_owned()],
            &serde_json::json!({"a": 1}),
        );
        assert_eq!(text, "# one kind: Evil\na: 1\n");
    }
}
