//! The rollups kept small: shards of finished hours folded, whole days summed, and
//! `verification_counts` giving the same totals as the raw hourly rows for any window.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;
use uuid::Uuid;

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

async fn hourly(
    pool: &PgPool,
    cluster: Uuid,
    hour: DateTime<Utc>,
    outcome: &str,
    shard: i16,
    n: i64,
) {
    sqlx::query(
        "INSERT INTO verification_hourly (hour, shard, cluster_id, outcome, reason, engine, events)
         VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'admitted' THEN 'admitted' ELSE 'unsigned' END, 'kyverno', $5)",
    )
    .bind(hour)
    .bind(shard)
    .bind(cluster)
    .bind(outcome)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

/// Total events of `verification_counts(from, to)` and of the hourly rows in the same window.
async fn totals(pool: &PgPool, from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64) {
    let counted: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM verification_counts($1, $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
    .unwrap();
    let raw: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM verification_hourly WHERE hour >= $1 AND hour < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
    .unwrap();
    (counted, raw)
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn shards_fold_days_sum_and_every_window_keeps_its_totals(pool: PgPool) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    // Five days, every hour, two clusters, counts in several shards.
    let mut expected_rows = 0;
    for day in 20..25 {
        for hour in 0..24 {
            for (cluster, base) in [(a, 3), (b, 5)] {
                for shard in 0..4 {
                    hourly(
                        &pool,
                        cluster,
                        t(day, hour),
                        "admitted",
                        shard,
                        base + shard as i64,
                    )
                    .await;
                }
                hourly(&pool, cluster, t(day, hour), "rejected", 7, 1).await;
                expected_rows += 5;
            }
        }
    }
    let rows_before: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_hourly")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows_before, expected_rows);
    let before = totals(&pool, t(1, 0), t(30, 0)).await;

    let now = t(24, 12) + Duration::minutes(30);
    let report = service::rollups::run(&pool, now).await.unwrap();
    // Hours before 10:00 on the 24th are settled: 4 days and 10 hours, two clusters, the four
    // admitted shards become one row and the lone rejected row moves to shard 0.
    let settled_hours = 4 * 24 + 10;
    assert_eq!(report.folded_rows, settled_hours * 2 * 3);
    let unsettled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM verification_hourly WHERE hour >= $1 AND shard <> 0",
    )
    .bind(t(24, 10))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unsettled, 14 * 2 * 4, "recent hours keep their shards");
    // Whole days before today are summed: days 20 to 23, two clusters, two outcomes.
    assert_eq!(report.daily_rows, 4 * 2 * 2);
    let day_total: i64 = sqlx::query_scalar(
        "SELECT events FROM verification_daily WHERE day = $1 AND cluster_id = $2 AND outcome = 'admitted'",
    )
    .bind(t(21, 0))
    .bind(a)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(day_total, 24 * (3 + 4 + 5 + 6));

    // Nothing is lost or counted twice, for windows aligned to days or not, inside the daily
    // table, across its watermark, or entirely after it.
    assert_eq!(totals(&pool, t(1, 0), t(30, 0)).await.0, before.0);
    for (from, to) in [
        (t(20, 0), t(25, 0)),
        (t(20, 5), t(24, 17)),
        (t(21, 0), t(22, 0)),
        (t(22, 13), t(22, 14)),
        (t(23, 20), t(24, 11)),
        (t(24, 0), t(25, 0)),
    ] {
        let (counted, raw) = totals(&pool, from, to).await;
        assert_eq!(counted, raw, "{from} to {to}");
        assert!(raw > 0);
    }

    // Running again changes nothing; a late event for a summed day is picked up on the next run.
    let again = service::rollups::run(&pool, now).await.unwrap();
    assert_eq!(again.folded_rows, 0);
    hourly(&pool, a, t(22, 3), "rejected", 5, 100).await;
    service::rollups::run(&pool, now).await.unwrap();
    let (counted, raw) = totals(&pool, t(20, 0), t(25, 0)).await;
    assert_eq!(counted, raw);
}
