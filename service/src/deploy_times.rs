//! Time to deploy as histograms (`deploy_times`): per hour and per UTC day, the digests first
//! signed in it and, for those admitted since, how long the first admission took, counted in
//! log-scale bins. Maintenance rebuilds the buckets `deployments::refresh` touched; the Trends
//! page merges a bucket's or a range's histograms and reads its percentiles.
//!
//! Precision: bin `b ≥ 1` holds durations in `[1.02^(b-1), 1.02^b)` seconds and is read as its
//! geometric middle `1.02^(b-½)`, at most 1 % from anything in it; bin 0 holds everything under a
//! second and is read as half a second. A percentile interpolated between two such readings, as
//! `percentile_cont` interpolates between two exact values, is therefore within 1 % (or half a
//! second) of the exact percentile. 90 days are 803 bins, so a bin fits a `smallint`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::{Postgres, QueryBuilder, Transaction};

use crate::trends::Bucket;
use crate::ServiceError;

/// How much wider each bin is than the one before it.
const GROWTH: f64 = 1.02;

/// The bin of a duration in seconds.
pub fn bin(seconds: f64) -> i16 {
    // Also catches the negative (an admission never precedes its signing here) and NaN.
    if seconds.is_nan() || seconds < 1.0 {
        return 0;
    }
    let b = 1.0 + (seconds.ln() / GROWTH.ln()).floor();
    b.min(f64::from(i16::MAX)) as i16
}

/// The duration a bin is read as: the geometric middle of its bounds.
pub fn reading(bin: i16) -> f64 {
    if bin <= 0 {
        0.5
    } else {
        GROWTH.powf(f64::from(bin) - 0.5)
    }
}

/// The deployments of one bucket, or of several merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployTimes {
    /// Digests first signed in the bucket, admitted or not.
    pub signed: i64,
    /// Admitted digests per bin.
    counts: BTreeMap<i16, i64>,
}

impl DeployTimes {
    /// A digest signed in the bucket, with how long its first admission took if it has one.
    pub fn add(&mut self, seconds: Option<f64>) {
        self.signed += 1;
        if let Some(s) = seconds {
            *self.counts.entry(bin(s)).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &DeployTimes) {
        self.signed += other.signed;
        for (b, n) in &other.counts {
            *self.counts.entry(*b).or_default() += n;
        }
    }

    /// Digests admitted since their signing.
    pub fn deployed(&self) -> i64 {
        self.counts.values().sum()
    }

    /// The `p` percentile (0 to 1) of the time to deploy, as `percentile_cont` computes it:
    /// interpolated between the two nearest ranks. `None` when nothing was deployed.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.deployed();
        if n == 0 {
            return None;
        }
        let rank = p.clamp(0.0, 1.0) * (n - 1) as f64;
        let (low, high) = (rank.floor() as i64, rank.ceil() as i64);
        let (a, b) = (self.at_rank(low), self.at_rank(high));
        Some(a + (rank - low as f64) * (b - a))
    }

    /// The reading of the `rank`-th fastest deployment, counting from 0.
    fn at_rank(&self, rank: i64) -> f64 {
        let mut seen = 0;
        for (b, n) in &self.counts {
            seen += n;
            if rank < seen {
                return reading(*b);
            }
        }
        self.counts.keys().next_back().map_or(0.0, |b| reading(*b))
    }

    fn from_row(signed: i32, bins: &[i16], deployments: &[i32]) -> Self {
        DeployTimes {
            signed: i64::from(signed),
            counts: bins
                .iter()
                .zip(deployments)
                .map(|(b, n)| (*b, i64::from(*n)))
                .collect(),
        }
    }
}

/// The histograms of every `span` bucket in `[from, to)`, oldest first.
pub async fn read(
    pool: &sqlx::PgPool,
    span: Bucket,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DeployTimes)>, ServiceError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        bucket: DateTime<Utc>,
        signed: i32,
        bins: Vec<i16>,
        deployments: Vec<i32>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT bucket, signed, bins, deployments FROM deploy_times
          WHERE span = $1 AND bucket >= $2 AND bucket < $3
          ORDER BY bucket",
    )
    .bind(span.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let times = DeployTimes::from_row(r.signed, &r.bins, &r.deployments);
            (r.bucket, times)
        })
        .collect())
}

/// Rows written per statement, well under PostgreSQL's 65,535 parameters.
const ROWS_PER_INSERT: usize = 1000;

/// Builds again, from `deployments`, the day buckets of `days` (UTC midnights) and every hour
/// bucket inside them; `None` builds every bucket there is.
pub(crate) async fn rebuild(
    tx: &mut Transaction<'_, Postgres>,
    days: Option<&[DateTime<Utc>]>,
) -> Result<(), ServiceError> {
    let days: Vec<DateTime<Utc>> =
        match days {
            Some(days) => days.to_vec(),
            None => sqlx::query_scalar(
                "SELECT DISTINCT date_bin('1 day', signed_at, timestamptz '2000-01-01 00:00:00+00')
                   FROM deployments",
            )
            .fetch_all(&mut **tx)
            .await?,
        };
    if days.is_empty() {
        return Ok(());
    }
    let rows: Vec<(DateTime<Utc>, Option<f64>)> = sqlx::query_as(
        "SELECT d.signed_at, extract(epoch FROM d.admitted_at - d.signed_at)::float8
           FROM unnest($1::timestamptz[]) AS day(start)
           JOIN deployments d
             ON d.signed_at >= day.start AND d.signed_at < day.start + interval '1 day'",
    )
    .bind(&days)
    .fetch_all(&mut **tx)
    .await?;
    let mut buckets: BTreeMap<(&str, DateTime<Utc>), DeployTimes> = BTreeMap::new();
    for (signed_at, seconds) in rows {
        for span in [Bucket::Hour, Bucket::Day] {
            let start = signed_at.duration_trunc(span.length()).unwrap_or(signed_at);
            buckets
                .entry((span.as_str(), start))
                .or_default()
                .add(seconds);
        }
    }
    // A bucket whose digests all moved to an earlier signing has no row any more.
    sqlx::query(
        "DELETE FROM deploy_times t
          USING unnest($1::timestamptz[]) AS day(start)
          WHERE t.bucket >= day.start AND t.bucket < day.start + interval '1 day'",
    )
    .bind(&days)
    .execute(&mut **tx)
    .await?;
    let buckets: Vec<_> = buckets.into_iter().collect();
    for chunk in buckets.chunks(ROWS_PER_INSERT) {
        let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO deploy_times (span, bucket, signed, bins, deployments) ",
        );
        insert.push_values(chunk, |mut row, ((span, start), times)| {
            let (bins, counts): (Vec<i16>, Vec<i32>) = times
                .counts
                .iter()
                .map(|(b, n)| (*b, i32::try_from(*n).unwrap_or(i32::MAX)))
                .unzip();
            row.push_bind(*span)
                .push_bind(*start)
                .push_bind(i32::try_from(times.signed).unwrap_or(i32::MAX))
                .push_bind(bins)
                .push_bind(counts);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The UTC days of the given instants, each once.
pub(crate) fn days_of(instants: &[DateTime<Utc>]) -> Vec<DateTime<Utc>> {
    let mut days: Vec<DateTime<Utc>> = instants
        .iter()
        .map(|t| t.duration_trunc(Duration::days(1)).unwrap_or(*t))
        .collect();
    days.sort();
    days.dedup();
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `percentile_cont` over exact values, the figure the histograms approximate.
    fn exact(values: &[f64], p: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = p * (v.len() - 1) as f64;
        let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
        v[low] + (rank - low as f64) * (v[high] - v[low])
    }

    fn within_one_percent(approx: f64, exact: f64) -> bool {
        (approx - exact).abs() <= 0.01 * exact || (approx - exact).abs() <= 0.5
    }

    #[test]
    fn every_duration_reads_back_within_one_percent() {
        let mut s = 0.25;
        while s < 90.0 * 86400.0 {
            let r = reading(bin(s));
            assert!(within_one_percent(r, s), "{s} s read as {r}");
            s *= 1.003;
        }
        assert_eq!(bin(0.0), 0);
        assert_eq!(bin(-3.0), 0);
        assert_eq!(bin(f64::NAN), 0);
        assert!(bin(90.0 * 86400.0) < 810, "90 days fit in about 800 bins");
        // The bins are what the precision says: 2 % wide, so a 3 % difference changes bin.
        assert_ne!(bin(100.0), bin(103.0));
    }

    #[test]
    fn percentiles_match_percentile_cont_within_one_percent() {
        // Durations from seconds to days, spread unevenly as real ones are.
        let mut x: u64 = 7;
        let values: Vec<f64> = (0..5000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                (u * 12.0).exp()
            })
            .collect();
        let mut times = DeployTimes::default();
        for v in &values {
            times.add(Some(*v));
        }
        times.add(None);
        assert_eq!(times.signed, 5001);
        assert_eq!(times.deployed(), 5000);
        for p in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let (a, e) = (times.percentile(p).unwrap(), exact(&values, p));
            assert!(within_one_percent(a, e), "p{p}: {a} against {e}");
        }
    }

    #[test]
    fn a_few_values_interpolate_as_percentile_cont_does() {
        let mut times = DeployTimes::default();
        for s in [60.0, 120.0, 600.0] {
            times.add(Some(s));
        }
        let p50 = times.percentile(0.5).unwrap();
        let p95 = times.percentile(0.95).unwrap();
        assert!(within_one_percent(p50, 120.0), "{p50}");
        // 90 % of the way from 120 to 600.
        assert!(within_one_percent(p95, 552.0), "{p95}");
        assert!(
            (p95 - 600.0).abs() > 10.0,
            "interpolated, not the top value"
        );
    }

    #[test]
    fn merged_histograms_are_the_histogram_of_everything() {
        let (mut a, mut b, mut all) = (
            DeployTimes::default(),
            DeployTimes::default(),
            DeployTimes::default(),
        );
        for (i, s) in [5.0, 50.0, 500.0, 5000.0, 7.0, 70.0]
            .into_iter()
            .enumerate()
        {
            let one: &mut DeployTimes = if i % 2 == 0 { &mut a } else { &mut b };
            one.add(Some(s));
            all.add(Some(s));
        }
        b.add(None);
        all.add(None);
        let mut merged: DeployTimes = a.clone();
        merged.merge(&b);
        assert_eq!(merged, all);
        assert_eq!(DeployTimes::default().percentile(0.5), None);
    }

    #[test]
    fn days_are_utc_midnights_each_once() {
        use chrono::TimeZone;
        let t = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 30, 0).unwrap();
        assert_eq!(
            days_of(&[t(25, 23), t(24, 1), t(25, 0)]),
            vec![
                Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap()
            ]
        );
    }
}
