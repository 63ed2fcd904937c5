//! The published trust bundle's policies as other admission engines need them, for the
//! incident console's Propagation step, `GET /api/v1/policies/export?format=…` and
//! `trustwatch policy export --engine …`. The rendering is `domain::policy_export`; this module
//! reads the bundle every verifier reads and checks the fingerprints to leave out.

use chrono::Utc;
use domain::policy_export::{self, ExportFormat};
use domain::KeyFingerprint;
use serde::Serialize;
use sqlx::PgPool;

use crate::{trust_bundle, ServiceError};

/// One Kubernetes object to apply. `policy` is the Trustwatch policy it comes from:
/// policy-controller may need several objects for one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedPolicy {
    pub policy: String,
    pub name: String,
    pub kind: String,
    pub yaml: String,
}

/// Parses the fingerprints to leave out and checks each names a key of the bundle: a typo that
/// silently matched nothing would hand out the compromised key. Accepts `sha256:<hex>` in any
/// case, surrounding spaces ignored; duplicates are harmless.
fn parse_fingerprints(
    bundle: &domain::TrustBundle,
    fingerprints: &[String],
) -> Result<Vec<KeyFingerprint>, ServiceError> {
    fingerprints
        .iter()
        .map(|raw| {
            let fingerprint = KeyFingerprint::parse(&raw.trim().to_ascii_lowercase())
                .map_err(|e| ServiceError::Invalid(format!("without: {e}")))?;
            if bundle.key_by_fingerprint(&fingerprint).is_none() {
                return Err(ServiceError::Invalid(format!(
                    "without: no key in trust bundle version {} has fingerprint {fingerprint}",
                    bundle.version()
                )));
            }
            Ok(fingerprint)
        })
        .collect()
}

/// Every policy of the current published bundle written for `format`, without the keys whose
/// fingerprints are in `without_fingerprints` (and without revoked, compromised and expired
/// keys, see `domain::policy_export`). `Invalid` when a fingerprint is malformed or names no key
/// of the bundle; `NotFound` before the first publication.
pub async fn export(
    pool: &PgPool,
    format: ExportFormat,
    without_fingerprints: &[String],
) -> Result<Vec<ExportedPolicy>, ServiceError> {
    let published = trust_bundle::current(pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound("a published trust bundle".to_owned()))?;
    let without = parse_fingerprints(&published.bundle, without_fingerprints)?;
    Ok(
        policy_export::export(&published.bundle, format, &without, Utc::now())
            .into_iter()
            .map(|d| ExportedPolicy {
                policy: d.policy,
                name: d.name,
                kind: d.kind,
                yaml: d.yaml,
            })
            .collect(),
    )
}

/// [`export`] as one multi-document YAML file (documents separated by `---`), ready for
/// `kubectl apply -f -`. Empty when the bundle has no policies.
pub async fn export_yaml(
    pool: &PgPool,
    format: ExportFormat,
    without_fingerprints: &[String],
) -> Result<String, ServiceError> {
    Ok(to_multi_document_yaml(
        &export(pool, format, without_fingerprints).await?,
    ))
}

/// Joins exported objects into one YAML stream.
pub fn to_multi_document_yaml(policies: &[ExportedPolicy]) -> String {
    policies
        .iter()
        .map(|p| p.yaml.as_str())
        .collect::<Vec<_>>()
        .join("---\n")
}
