//! Time to deploy: from a digest's first recorded signing to its first admission. Maintenance
//! records new signings and resolves the first admission of digests still waiting, once each;
//! the same run builds again the `deploy_times` histograms of the days those digests were signed
//! in, which the Trends page reads (see the `deployments` and `deploy_times` migrations).

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
    // (a late request) moves back and is resolved again. The signing times returned, old and
    // new, name the buckets of `deploy_times` to build again.
    let signed: Vec<(DateTime<Utc>, bool)> = sqlx::query_as(
        "WITH first AS (
             SELECT digest, min(recorded_at) AS signed_at FROM signing_events
              WHERE recorded_at >= $1 AND recorded_at < $2
              GROUP BY digest
         ), moved AS (
             SELECT d.signed_at FROM deployments d JOIN first f USING (digest)
              WHERE f.signed_at < d.signed_at
         ), written AS (
             INSERT INTO deployments (digest, signed_at)
             SELECT digest, signed_at FROM first ORDER BY digest
             ON CONFLICT (digest) DO UPDATE SET signed_at = EXCLUDED.signed_at, admitted_at = NULL
              WHERE EXCLUDED.signed_at < deployments.signed_at
             RETURNING signed_at
         )
         SELECT signed_at, true FROM written UNION ALL SELECT signed_at, false FROM moved",
    )
    .bind(through.map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t - LATE_SIGNINGS))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let resolved: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE deployments d SET admitted_at = first.observed_at
           FROM deployments w
           CROSS JOIN LATERAL (
                SELECT v.observed_at FROM verification_events v
                 WHERE v.digest = w.digest AND v.observed_at >= w.signed_at
                   AND v.outcome = 'admitted'
                 ORDER BY v.observed_at LIMIT 1
           ) first
          WHERE w.admitted_at IS NULL AND w.signed_at >= $1 AND d.digest = w.digest
         RETURNING d.signed_at",
    )
    .bind(now - GIVE_UP_AFTER)
    .fetch_all(&mut *tx)
    .await?;
    // The histograms: every bucket at the first run after they were introduced, then only the
    // days whose digests changed.
    let built: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM rollup_watermarks WHERE name = 'deploy_times')",
    )
    .fetch_one(&mut *tx)
    .await?;
    if built {
        let touched: Vec<DateTime<Utc>> = signed
            .iter()
            .map(|(at, _)| *at)
            .chain(resolved.iter().copied())
            .collect();
        crate::deploy_times::rebuild(&mut tx, Some(&crate::deploy_times::days_of(&touched)))
            .await?;
    } else {
        crate::deploy_times::rebuild(&mut tx, None).await?;
    }
    sqlx::query(
        "INSERT INTO rollup_watermarks (name, through) VALUES ('deployments', $1), ('deploy_times', $1)
         ON CONFLICT (name) DO UPDATE SET through = EXCLUDED.through",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DeploymentsReport {
        digests_added: signed.iter().filter(|(_, written)| *written).count() as u64,
        digests_resolved: resolved.len() as u64,
    })
}
