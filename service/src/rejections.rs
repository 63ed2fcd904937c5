//! One recorded admission outcome in full, as the rejection page shows it: what was refused (or
//! warned about), where, by which engine and policy, the checks that led there, and the other
//! refusals of the same digest. The admission webhook links every refusal here.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ServiceError;

mod advice;
mod list;
pub use advice::{advise, Advice};
pub use list::*;

/// How many other refusals of the same digest the page lists.
const RELATED_LIMIT: i64 = 20;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rejection {
    pub id: Uuid,
    pub cluster: String,
    pub namespace: String,
    pub workload_kind: String,
    pub workload_name: String,
    pub image: String,
    pub digest: Option<String>,
    pub outcome: String,
    pub reason: String,
    pub engine: String,
    pub policy: Option<String>,
    pub message: Option<String>,
    pub checks: serde_json::Value,
    /// The fix the verifier proposed, one step per line; `None` from other engines.
    pub remediation: Option<String>,
    pub key_fingerprints: Vec<String>,
    pub observed_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// Another refusal (or warning) of the same digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelatedRejection {
    pub id: Uuid,
    pub cluster: String,
    pub namespace: String,
    pub outcome: String,
    pub reason: String,
    pub observed_at: DateTime<Utc>,
}

/// The event `id` and the newest other refusals of its digest; `None` when no event has that id.
pub async fn get(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<(Rejection, Vec<RelatedRejection>)>, ServiceError> {
    let event: Option<Rejection> = sqlx::query_as(
        "SELECT e.id, c.name AS cluster, e.namespace, e.workload_kind, e.workload_name, e.image,
                e.digest, e.outcome, e.reason, e.engine, e.policy, e.message, e.checks, e.remediation,
                e.key_fingerprints, e.observed_at, e.received_at
           FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
          WHERE e.id = $1
          LIMIT 1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(event) = event else {
        return Ok(None);
    };
    let related =
        match &event.digest {
            // Served by the index on (digest, observed_at).
            Some(digest) => sqlx::query_as(
                "SELECT e.id, c.name AS cluster, e.namespace, e.outcome, e.reason, e.observed_at
                   FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
                  WHERE e.digest = $1 AND e.outcome <> 'admitted' AND e.id <> $2
                  ORDER BY e.observed_at DESC
                  LIMIT $3",
            )
            .bind(digest)
            .bind(event.id)
            .bind(RELATED_LIMIT)
            .fetch_all(pool)
            .await?,
            None => Vec::new(),
        };
    Ok(Some((event, related)))
}
