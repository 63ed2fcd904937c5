//! Recovery: is the fleet healthy on the replacement key?
//!
//! Three readings since containment: the affected digests re-signed by a key still trusted; the
//! admissions that relied on the contained key (which must be none: any is a cluster still
//! trusting it); and the refusals of the affected digests per hour, which fall to zero as
//! deployments pick up the new signatures.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;

use super::blast_radius::{digests_to_resign, DigestToResign};
use super::IncidentRow;
use crate::ServiceError;

/// Admissions listed at most; the count is exact.
const MAX_LISTED: i64 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RelyingAdmission {
    pub cluster: String,
    pub namespace: String,
    pub workload_name: String,
    pub image: String,
    pub observed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryView {
    pub contained_at: Option<DateTime<Utc>>,
    /// The digests containment made untrusted, and whether each is re-signed.
    pub digests: Vec<DigestToResign>,
    pub relying_admissions: i64,
    pub relying: Vec<RelyingAdmission>,
    /// Refusals of the affected digests per hour since containment, oldest first.
    pub rejections_per_hour: Vec<(DateTime<Utc>, i64)>,
}

impl RecoveryView {
    pub fn resigned(&self) -> usize {
        self.digests.iter().filter(|d| d.resigned).count()
    }
}

/// The digests containment affects: everything the key signed at or after T, or everything it
/// ever signed once revoked outright.
pub fn affected_since(incident: &IncidentRow) -> Option<DateTime<Utc>> {
    match incident.key_status.as_deref() {
        Some("revoked") => None,
        _ => incident.compromised_since,
    }
}

pub async fn view(
    conn: &mut PgConnection,
    incident: &IncidentRow,
) -> Result<RecoveryView, ServiceError> {
    let Some(fingerprint) = incident.key_fingerprint.as_deref() else {
        return Ok(RecoveryView {
            contained_at: incident.contained_at,
            digests: Vec::new(),
            relying_admissions: 0,
            relying: Vec::new(),
            rejections_per_hour: Vec::new(),
        });
    };
    let since = affected_since(incident);
    let digests = digests_to_resign(&mut *conn, fingerprint, since).await?;
    let Some(contained_at) = incident.contained_at else {
        return Ok(RecoveryView {
            contained_at: None,
            digests,
            relying_admissions: 0,
            relying: Vec::new(),
            rejections_per_hour: Vec::new(),
        });
    };
    let relying_admissions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM verification_events
          WHERE outcome = 'admitted' AND observed_at >= $2 AND key_fingerprints @> ARRAY[$1]",
    )
    .bind(fingerprint)
    .bind(contained_at)
    .fetch_one(&mut *conn)
    .await?;
    let relying: Vec<RelyingAdmission> = sqlx::query_as(
        "SELECT c.name AS cluster, e.namespace, e.workload_name, e.image, e.observed_at
           FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
          WHERE e.outcome = 'admitted' AND e.observed_at >= $2
            AND e.key_fingerprints @> ARRAY[$1]
          ORDER BY e.observed_at DESC LIMIT $3",
    )
    .bind(fingerprint)
    .bind(contained_at)
    .bind(MAX_LISTED)
    .fetch_all(&mut *conn)
    .await?;
    let affected: Vec<&str> = digests.iter().map(|d| d.digest.as_str()).collect();
    let rejections_per_hour: Vec<(DateTime<Utc>, i64)> = sqlx::query_as(
        "SELECT date_bin('1 hour', observed_at, '2000-01-01'::timestamptz) AS hour, count(*)
           FROM verification_events
          WHERE outcome <> 'admitted' AND observed_at >= $1 AND digest = ANY($2)
          GROUP BY 1 ORDER BY 1",
    )
    .bind(contained_at)
    .bind(&affected)
    .fetch_all(&mut *conn)
    .await?;
    Ok(RecoveryView {
        contained_at: Some(contained_at),
        digests,
        relying_admissions,
        relying,
        rejections_per_hour,
    })
}
