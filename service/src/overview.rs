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

/// An incident that is not closed yet, for the banner on top of the Overview.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OpenIncident {
    pub id: uuid::Uuid,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub commander: String,
    pub opened_at: DateTime<Utc>,
    /// A drill: shown as one, never mistaken for a real incident.
    pub drill: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub since: DateTime<Utc>,
    pub totals: OutcomeCounts,
    pub clusters: Vec<ClusterStatus>,
    /// The three most frequent refusal reasons of each cluster, by cluster name.
    pub cluster_reasons: std::collections::HashMap<String, Vec<(String, i64)>>,
    pub top_reasons: Vec<(String, i64)>,
    pub keys_by_status: Vec<(String, i64)>,
    /// The newest published trust-bundle version, which every cluster should run.
    pub newest_bundle: Option<i64>,
    pub open_incidents: Vec<OpenIncident>,
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
    let per_cluster: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT c.name, h.reason, sum(h.events)::bigint
           FROM verification_hourly h JOIN clusters c ON c.id = h.cluster_id
          WHERE h.hour >= $1 AND h.hour <= $2 AND h.outcome <> 'admitted'
          GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
    )
    .bind(since)
    .bind(now)
    .fetch_all(pool)
    .await?;
    // One read of the period's refusals serves both lists: each cluster's three most frequent
    // reasons, and the fleet's five (summed over clusters, most frequent first, then by name).
    let mut cluster_reasons: std::collections::HashMap<String, Vec<(String, i64)>> =
        std::collections::HashMap::new();
    let mut fleet: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for (cluster, reason, n) in per_cluster {
        *fleet.entry(reason.clone()).or_default() += n;
        let reasons = cluster_reasons.entry(cluster).or_default();
        if reasons.len() < 3 {
            reasons.push((reason, n));
        }
    }
    let mut top_reasons: Vec<(String, i64)> = fleet.into_iter().collect();
    top_reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top_reasons.truncate(5);
    let newest_bundle: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(pool)
        .await?;
    let open_incidents: Vec<OpenIncident> = sqlx::query_as(
        "SELECT id, title, severity, status, commander, opened_at, drill FROM incidents
          WHERE status <> 'closed' ORDER BY opened_at DESC LIMIT 10",
    )
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
        cluster_reasons,
        top_reasons,
        keys_by_status,
        newest_bundle,
        open_incidents,
    })
}
