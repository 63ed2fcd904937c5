//! One image digest, as the image page shows it: every recorded signature of it, where it runs or
//! was refused (per cluster and namespace), and its verification history. Every query starts
//! from a digest index (signing_events_digest, verification_events_digest), so the page costs the
//! same at ten million events as at ten thousand, save for the digest's own events.

use chrono::{DateTime, Utc};
use domain::Digest;
use sqlx::PgPool;
use uuid::Uuid;

use crate::keyset::{split_page, Keyset};
use crate::ServiceError;

/// A signing event of the digest, with the key it names when Trustwatch knows that key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Signature {
    pub id: Uuid,
    pub key_fingerprint: String,
    pub key_name: Option<String>,
    pub key_status: Option<String>,
    pub image: String,
    pub signer_identity: String,
    pub signer_host: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub recorded_at: DateTime<Utc>,
}

/// Every recorded signature of `digest`, newest first.
pub async fn signatures(pool: &PgPool, digest: &Digest) -> Result<Vec<Signature>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.key_fingerprint, k.name AS key_name, k.status AS key_status, s.image,
                s.signer_identity, s.signer_host, s.claimed_at, s.recorded_at
           FROM signing_events s LEFT JOIN keys k ON k.fingerprint = s.key_fingerprint
          WHERE s.digest = $1
          ORDER BY s.recorded_at DESC, s.id DESC",
    )
    .bind(digest.as_str())
    .fetch_all(pool)
    .await?)
}

/// The digest in one namespace of one cluster: what happened last, when, and how often each
/// outcome was recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Placement {
    pub cluster: String,
    pub namespace: String,
    pub last_outcome: String,
    pub last_reason: String,
    /// The newest event, for a link to it.
    pub last_event: Uuid,
    pub last_seen: DateTime<Utc>,
    pub admitted: i64,
    pub rejected: i64,
    pub warned: i64,
    pub errors: i64,
}

/// Where the digest was admitted or refused, most recently seen first, over the events still
/// retained.
pub async fn placements(pool: &PgPool, digest: &Digest) -> Result<Vec<Placement>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT c.name AS cluster, e.namespace,
                (array_agg(e.outcome ORDER BY e.observed_at DESC, e.id DESC))[1] AS last_outcome,
                (array_agg(e.reason ORDER BY e.observed_at DESC, e.id DESC))[1] AS last_reason,
                (array_agg(e.id ORDER BY e.observed_at DESC, e.id DESC))[1] AS last_event,
                max(e.observed_at) AS last_seen,
                count(*) FILTER (WHERE e.outcome = 'admitted') AS admitted,
                count(*) FILTER (WHERE e.outcome = 'rejected') AS rejected,
                count(*) FILTER (WHERE e.outcome = 'warned') AS warned,
                count(*) FILTER (WHERE e.outcome = 'error') AS errors
           FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
          WHERE e.digest = $1
          GROUP BY c.name, e.namespace
          ORDER BY max(e.observed_at) DESC, c.name, e.namespace",
    )
    .bind(digest.as_str())
    .fetch_all(pool)
    .await?)
}

/// One recorded admission outcome of the digest.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Verification {
    pub id: Uuid,
    pub cluster: String,
    pub namespace: String,
    pub workload_kind: String,
    pub workload_name: String,
    pub image: String,
    pub outcome: String,
    pub reason: String,
    pub engine: String,
    pub policy: Option<String>,
    pub observed_at: DateTime<Utc>,
}

/// The digest's admission outcomes, newest first, `limit` at a time after `before`, with the
/// position of the next page when there is one. Served by verification_events_digest.
pub async fn history(
    pool: &PgPool,
    digest: &Digest,
    before: Option<Keyset>,
    limit: i64,
) -> Result<(Vec<Verification>, Option<Keyset>), ServiceError> {
    let rows: Vec<Verification> = sqlx::query_as(
        "SELECT e.id, c.name AS cluster, e.namespace, e.workload_kind, e.workload_name, e.image,
                e.outcome, e.reason, e.engine, e.policy, e.observed_at
           FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
          WHERE e.digest = $1
            AND ($2::timestamptz IS NULL OR e.observed_at <= $2)
            AND ($2::timestamptz IS NULL OR (e.observed_at, e.id) < ($2, $3))
          ORDER BY e.observed_at DESC, e.id DESC
          LIMIT $4",
    )
    .bind(digest.as_str())
    .bind(before.map(|k| k.at))
    .bind(before.map(|k| k.id))
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(split_page(rows, limit, |r| Keyset {
        at: r.observed_at,
        id: r.id,
    }))
}
