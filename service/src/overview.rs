//! The numbers on the Overview page.

use chrono::{DateTime, DurationRound, Utc};
use sqlx::PgPool;

use crate::ServiceError;

/// Admission outcomes over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutcomeCounts {
    pub admitted: i64,
    pub rejected: i64,
    pub warned: i64,
    pub error: i64,
}

/// One cluster's line on the Overview.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClusterStatus {
    pub name: String,
    pub environment: String,
    pub engine: Option<String>,
    pub enforcement_mode: Option<String>,
    pub bundle_version: Option<i64>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub admitted: i64,
    pub rejected: i64,
    pub warned: i64,
    pub error: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub since: DateTime<Utc>,
    pub totals: OutcomeCounts,
    pub clusters: Vec<ClusterStatus>,
    pub top_reasons: Vec<(String, i64)>,
    pub keys_by_status: Vec<(String, i64)>,
}

/// Everything the Overview shows, for the last 24 hours (whole hours, this one included).
pub async fn load(pool: &PgPool, now: DateTime<Utc>) -> Result<Overview, ServiceError> {
    // Counts come from the hourly rollup, whose rows are stamped with the start of their hour:
    // the period is the current hour and the 23 before it.
    let hour = now
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap_or(now);
    let since = hour - chrono::Duration::hours(23);
    let clusters: Vec<ClusterStatus> = sqlx::query_as(
        "SELECT c.name, c.environment, c.engine, c.enforcement_mode, c.bundle_version, c.last_report_at,
                coalesce(sum(h.events) FILTER (WHERE h.outcome = 'admitted'), 0)::bigint AS admitted,
                coalesce(sum(h.events) FILTER (WHERE h.outcome = 'rejected'), 0)::bigint AS rejected,
                coalesce(sum(h.events) FILTER (WHERE h.outcome = 'warned'), 0)::bigint   AS warned,
                coalesce(sum(h.events) FILTER (WHERE h.outcome = 'error'), 0)::bigint    AS error
           FROM clusters c
           LEFT JOIN verification_hourly h
                  ON h.cluster_id = c.id AND h.hour >= $1 AND h.hour <= $2
          GROUP BY c.id
          ORDER BY c.environment, c.name",
    )
    .bind(since)
    .bind(now)
    .fetch_all(pool)
    .await?;
    let totals = clusters
        .iter()
        .fold(OutcomeCounts::default(), |t, c| OutcomeCounts {
            admitted: t.admitted + c.admitted,
            rejected: t.rejected + c.rejected,
            warned: t.warned + c.warned,
            error: t.error + c.error,
        });
    let top_reasons: Vec<(String, i64)> = sqlx::query_as(
        "SELECT reason, sum(events)::bigint FROM verification_hourly
          WHERE hour >= $1 AND hour <= $2 AND outcome <> 'admitted'
          GROUP BY reason ORDER BY 2 DESC, reason LIMIT 5",
    )
    .bind(since)
    .bind(now)
    .fetch_all(pool)
    .await?;
    let keys_by_status: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM keys GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await?;
    Ok(Overview {
        since,
        totals,
        clusters,
        top_reasons,
        keys_by_status,
    })
}
