//! Time to deploy: from a digest's first recorded signing to its first admission. Maintenance
//! records new signings and resolves the first admission of digests still waiting, once each;
//! the Trends page then reads one row per digest (see the `deployments` migration).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::ServiceError;

/// Digests signed longer ago than this and never admitted are no longer looked for: they are past
/// every range the Trends page shows, and each look costs an index probe per monthly partition.
const GIVE_UP_AFTER: Duration = Duration::days(90);

/// Signings recorded this long before the last run are read again, in case a slow request
/// committed its signing events after that run.
const LATE_SIGNINGS: Duration = Duration::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeploymentsReport {
    pub digests_added: u64,
    pub digests_resolved: u64,
}

pub async fn refresh(pool: &PgPool, now: DateTime<Utc>) -> Result<DeploymentsReport, ServiceError> {
    let mut tx = pool.begin().await?;
    let through: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT through FROM rollup_watermarks WHERE name = 'deployments' FOR UPDATE",
    )
    .fetch_optional(&mut *tx)
    .await?;
    // A digest signed again keeps its first signing; one found signed earlier than recorded
    // (a late request) moves back and is resolved again.
    let added = sqlx::query(
        "INSERT INTO deployments (digest, signed_at)
         SELECT digest, min(recorded_at) FROM signing_events
          WHERE recorded_at >= $1 AND recorded_at < $2
          GROUP BY digest ORDER BY digest
         ON CONFLICT (digest) DO UPDATE SET signed_at = EXCLUDED.signed_at, admitted_at = NULL
          WHERE EXCLUDED.signed_at < deployments.signed_at",
    )
    .bind(through.map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t - LATE_SIGNINGS))
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let resolved = sqlx::query(
        "UPDATE deployments d SET admitted_at = first.observed_at
           FROM deployments w
           CROSS JOIN LATERAL (
                SELECT v.observed_at FROM verification_events v
                 WHERE v.digest = w.digest AND v.observed_at >= w.signed_at
                   AND v.outcome = 'admitted'
                 ORDER BY v.observed_at LIMIT 1
           ) first
          WHERE w.admitted_at IS NULL AND w.signed_at >= $1 AND d.digest = w.digest",
    )
    .bind(now - GIVE_UP_AFTER)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO rollup_watermarks (name, through) VALUES ('deployments', $1)
         ON CONFLICT (name) DO UPDATE SET through = EXCLUDED.through",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DeploymentsReport {
        digests_added: added,
        digests_resolved: resolved,
    })
}
