//! Keeping the admission-count rollups small enough to read: shards of finished hours folded
//! together, whole days summed into `verification_daily` (see that migration), and the Trends
//! page's rollups brought up to date (`trend_rollups`). Run by maintenance and after bulk loads;
//! every step is idempotent.

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::PgPool;

use crate::ServiceError;

/// Hours that ended this long ago are folded: an event observed later than that is rare, and if
/// it comes it lands in a shard of its own that the next run folds again.
const SETTLED: Duration = Duration::hours(2);

/// Days summed again on every run, so events that arrive up to this late still count in the
/// daily table. Later ones are in `verification_hourly` (and the Overview) but not in the
/// 30- and 90-day Trends.
const RESUMMED_DAYS: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollupReport {
    /// Hourly rows removed by folding shards together.
    pub folded_rows: u64,
    /// Daily rows written.
    pub daily_rows: u64,
    /// Rows written to the Trends page's rollups.
    pub trends: crate::trend_rollups::TrendRollupReport,
}

pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<RollupReport, ServiceError> {
    let settled = now.duration_trunc(Duration::hours(1)).unwrap_or(now) - SETTLED;
    // Ingestion may add to a folded row at the same moment: rows are locked in key order on both
    // sides, and a deadlock (possible only with late events for these hours) is simply retried.
    let mut attempt = 0;
    let folded = loop {
        attempt += 1;
        let result = sqlx::query_scalar::<_, i64>(
            "WITH moved AS (
                 DELETE FROM verification_hourly
                  WHERE hour < $1 AND shard <> 0
              RETURNING hour, cluster_id, outcome, reason, engine, events
             ), added AS (
                 INSERT INTO verification_hourly (hour, cluster_id, outcome, reason, engine, shard, events)
                 SELECT hour, cluster_id, outcome, reason, engine, 0, sum(events)
                   FROM moved GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
                 ON CONFLICT (hour, cluster_id, outcome, reason, engine, shard)
                 DO UPDATE SET events = verification_hourly.events + EXCLUDED.events
                 -- xmax is 0 for a row this statement inserted, set for one it updated.
                 RETURNING xmax = 0 AS fresh
             )
             SELECT (SELECT count(*) FROM moved) - (SELECT count(*) FROM added WHERE fresh)",
        )
        .bind(settled)
        .fetch_one(pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("40P01") && attempt < 3 =>
            {
                continue
            }
            other => break other?,
        }
    };

    let today = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let mut tx = pool.begin().await?;
    let through: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT through FROM rollup_watermarks WHERE name = 'verification_daily' FOR UPDATE",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let from: Option<DateTime<Utc>> = match through {
        Some(t) => Some(t - Duration::days(RESUMMED_DAYS)),
        None => {
            sqlx::query_scalar(
                "SELECT date_trunc('day', min(hour), 'UTC') FROM verification_hourly",
            )
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let mut daily_rows = 0;
    if let Some(from) = from.filter(|f| *f < today) {
        sqlx::query("DELETE FROM verification_daily WHERE day >= $1 AND day < $2")
            .bind(from)
            .bind(today)
            .execute(&mut *tx)
            .await?;
        daily_rows = sqlx::query(
            "INSERT INTO verification_daily (day, cluster_id, outcome, reason, engine, events)
             SELECT date_trunc('day', hour, 'UTC'), cluster_id, outcome, reason, engine, sum(events)
               FROM verification_hourly
              WHERE hour >= $1 AND hour < $2
              GROUP BY 1, 2, 3, 4, 5",
        )
        .bind(from)
        .bind(today)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "INSERT INTO rollup_watermarks (name, through) VALUES ('verification_daily', $1)
             ON CONFLICT (name) DO UPDATE SET through = greatest(rollup_watermarks.through, EXCLUDED.through)",
        )
        .bind(today)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let trends = crate::trend_rollups::run(pool, now).await?;
    Ok(RollupReport {
        folded_rows: folded.max(0) as u64,
        daily_rows,
        trends,
    })
}
