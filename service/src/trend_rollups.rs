//! The Trends page's own rollups (`trend_admissions`, `trend_reporting`; see their migration):
//! admissions per hour and per UTC day by environment, outcome and reason, and the clusters that
//! reported in each bucket. Rebuilt by maintenance from `verification_hourly`; the charts read
//! the buckets before the watermark from here and the newer ones from `verification_hourly`
//! ([`summed_through`] tells them where to split).

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::PgPool;

use crate::trends::Bucket;
use crate::ServiceError;

/// Buckets summed again on every run, so admissions reported up to this late still count. Later
/// ones are in `verification_hourly` (the Overview, Rejections) but not in the Trends charts, as
/// with `verification_daily`.
const RESUMMED: Duration = Duration::days(3);

/// The watermark's name in `rollup_watermarks`.
fn watermark(span: Bucket) -> &'static str {
    match span {
        Bucket::Hour => "trend_hour",
        Bucket::Day => "trend_day",
    }
}

/// Rows written by one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrendRollupReport {
    pub admission_rows: u64,
    pub reporting_rows: u64,
}

/// Sums the buckets that are over (hours before `now`'s hour, days before today) and not yet
/// summed, and the last [`RESUMMED`] again. Idempotent.
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<TrendRollupReport, ServiceError> {
    let mut report = TrendRollupReport::default();
    for span in [Bucket::Hour, Bucket::Day] {
        let r = rebuild(pool, span, now).await?;
        report.admission_rows += r.admission_rows;
        report.reporting_rows += r.reporting_rows;
    }
    Ok(report)
}

async fn rebuild(
    pool: &PgPool,
    span: Bucket,
    now: DateTime<Utc>,
) -> Result<TrendRollupReport, ServiceError> {
    let upto = now.duration_trunc(span.length()).unwrap_or(now);
    let mut tx = pool.begin().await?;
    // Locked, so two replicas' maintenance runs take turns; '-infinity' reads as `None`.
    let through: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "SELECT CASE WHEN isfinite(through) THEN through END
           FROM rollup_watermarks WHERE name = $1 FOR UPDATE",
    )
    .bind(watermark(span))
    .fetch_optional(&mut *tx)
    .await?;
    let from: Option<DateTime<Utc>> = match through.flatten() {
        Some(t) => Some(t - RESUMMED),
        None => {
            sqlx::query_scalar(
                "SELECT date_bin($1::interval, min(hour), timestamptz '2000-01-01 00:00:00+00')
                   FROM verification_hourly",
            )
            .bind(span.stride())
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let Some(from) = from.filter(|f| *f < upto) else {
        return Ok(TrendRollupReport::default());
    };
    for table in ["trend_admissions", "trend_reporting"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE span = $1 AND bucket >= $2 AND bucket < $3"
        ))
        .bind(span.as_str())
        .bind(from)
        .bind(upto)
        .execute(&mut *tx)
        .await?;
    }
    // The environment is the cluster's at the time of summing: a cluster moved to another
    // environment keeps its history where it was.
    let admission_rows = sqlx::query(
        "INSERT INTO trend_admissions (span, bucket, environment, outcome, reason, events)
         SELECT $1, date_bin($4::interval, h.hour, timestamptz '2000-01-01 00:00:00+00'),
                c.environment, h.outcome, h.reason, sum(h.events)
           FROM verification_hourly h
           JOIN clusters c ON c.id = h.cluster_id
          WHERE h.hour >= $2 AND h.hour < $3
          GROUP BY 2, 3, 4, 5
         HAVING sum(h.events) > 0",
    )
    .bind(span.as_str())
    .bind(from)
    .bind(upto)
    .bind(span.stride())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let reporting_rows = sqlx::query(
        "INSERT INTO trend_reporting (span, bucket, cluster_id)
         SELECT DISTINCT $1, date_bin($4::interval, hour, timestamptz '2000-01-01 00:00:00+00'), cluster_id
           FROM verification_hourly
          WHERE hour >= $2 AND hour < $3",
    )
    .bind(span.as_str())
    .bind(from)
    .bind(upto)
    .bind(span.stride())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO rollup_watermarks (name, through) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET through = greatest(rollup_watermarks.through, EXCLUDED.through)",
    )
    .bind(watermark(span))
    .bind(upto)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(TrendRollupReport {
        admission_rows,
        reporting_rows,
    })
}

/// Where a chart over `[from, to)` in buckets of `span` splits: buckets before the returned
/// instant are read from the trend rollups, the rest from `verification_hourly`. Always within
/// `[from, to]`, and on a bucket boundary when `from` is.
pub async fn summed_through(
    pool: &PgPool,
    span: Bucket,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<DateTime<Utc>, ServiceError> {
    let through: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT CASE WHEN isfinite(through) THEN through END
           FROM rollup_watermarks WHERE name = $1",
    )
    .bind(watermark(span))
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(through.map_or(from, |t| t.clamp(from, to)))
}
