//! Housekeeping of the event store: partitions for the coming months, retention, and the
//! rollups kept small (`rollups`).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::ServiceError;

/// What one maintenance run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaintenanceReport {
    pub dropped_partitions: Vec<String>,
}

/// Prepares the next months' partitions and drops raw verification events older than
/// `retention` (hourly rollups are kept: they are the long-term record of the metrics).
pub async fn run(
    pool: &PgPool,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<MaintenanceReport, ServiceError> {
    sqlx::query("SELECT ensure_verification_event_partitions(1, 3)")
        .execute(pool)
        .await?;
    let dropped: Vec<String> = sqlx::query_scalar("SELECT drop_verification_events_before($1)")
        .bind(now - retention)
        .fetch_all(pool)
        .await?;
    if !dropped.is_empty() {
        tracing::info!(partitions = ?dropped, "dropped verification events past retention");
    }
    let rollups = crate::rollups::run(pool, now).await?;
    tracing::debug!(?rollups, "admission-count rollups folded and summed");
    let deployments = crate::deployments::refresh(pool, now).await?;
    tracing::debug!(?deployments, "time to deploy brought up to date");
    Ok(MaintenanceReport {
        dropped_partitions: dropped,
    })
}
