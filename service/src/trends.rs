//! The numbers behind the Trends page: how verification, rejections, deployment speed, revocation
//! speed, key hygiene and reporting coverage moved over a chosen range.
//!
//! Every chart is one [`TrendData`]: a [`Window`] of equal buckets and named series aligned with
//! them. The page draws it (`charts::render`) and the CSV export writes it (`to_csv`) from the
//! same value, so the numbers in the file are the numbers in the picture.
//!
//! Query plan, so the page stays fast at tens of millions of events:
//! - admissions (success rate, rejections, unsigned attempts, coverage) come from the trend
//!   rollups maintenance keeps (`trend_rollups`: per hour and day, by environment, outcome and
//!   reason — a few dozen rows per bucket), and for the buckets it has not summed yet from
//!   `verification_hourly`, a range scan of its primary key; the raw events are never scanned
//!   for a time series;
//! - time to deploy merges the histograms maintenance keeps per hour and day (`deploy_times`,
//!   built from `deployments`): one row per bucket, percentiles within 1 %;
//! - incidents and keys are small tables, read whole for the range.

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::PgPool;

use crate::ServiceError;

/// The ranges a manager can pick. The bucket grows with the range so every chart has between 24
/// and 168 points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TrendRange {
    Day,
    #[default]
    Week,
    Month,
    Quarter,
}

impl TrendRange {
    pub const ALL: [TrendRange; 4] = [Self::Day, Self::Week, Self::Month, Self::Quarter];

    /// The form used in URLs: `24h`, `7d`, `30d`, `90d`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "24 hours",
            Self::Week => "7 days",
            Self::Month => "30 days",
            Self::Quarter => "90 days",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                ServiceError::Invalid(format!("unknown range {s:?}; use 24h, 7d, 30d or 90d"))
            })
    }

    pub fn length(self) -> Duration {
        match self {
            Self::Day => Duration::hours(24),
            Self::Week => Duration::days(7),
            Self::Month => Duration::days(30),
            Self::Quarter => Duration::days(90),
        }
    }

    pub fn bucket(self) -> Bucket {
        match self {
            Self::Day | Self::Week => Bucket::Hour,
            Self::Month | Self::Quarter => Bucket::Day,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    /// The stride SQL buckets rows by, as `date_bin($3::interval, t, <a UTC midnight>)`:
    /// `date_bin` is arithmetic, where `date_trunc(…, 'UTC')` looks the time zone up for every
    /// row (a third of the 90-day page's time, measured).
    pub fn stride(self) -> &'static str {
        match self {
            Self::Hour => "1 hour",
            Self::Day => "1 day",
        }
    }

    /// The field name `date_trunc` takes, and the `span` of the rollups kept per hour and day.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn length(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::days(1),
        }
    }
}

/// The period a chart covers: whole buckets (UTC), the current one included, so the newest
/// point is the one still filling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub range: TrendRange,
    pub bucket: Bucket,
    /// Start of the first bucket.
    pub from: DateTime<Utc>,
    /// End of the last bucket (exclusive); later than `now`.
    pub to: DateTime<Utc>,
    /// When the numbers were read; snapshots (key hygiene) are taken at this time.
    pub now: DateTime<Utc>,
}

impl Window {
    pub fn ending_at(range: TrendRange, now: DateTime<Utc>) -> Self {
        let bucket = range.bucket();
        let to = now.duration_trunc(bucket.length()).unwrap_or(now) + bucket.length();
        Window {
            range,
            bucket,
            from: to - range.length(),
            to,
            now,
        }
    }

    /// The start of every bucket, oldest first.
    pub fn buckets(&self) -> Vec<DateTime<Utc>> {
        let step = self.bucket.length();
        let mut out = Vec::new();
        let mut t = self.from;
        while t < self.to {
            out.push(t);
            t += step;
        }
        out
    }

    fn index(&self, bucket_start: DateTime<Utc>) -> Option<usize> {
        if bucket_start < self.from || bucket_start >= self.to {
            return None;
        }
        let i = (bucket_start - self.from).num_seconds() / self.bucket.length().num_seconds();
        usize::try_from(i).ok()
    }

    /// The moment each bucket is judged at for point-in-time series: its end, or now for the
    /// current one.
    fn bucket_ends(&self) -> Vec<DateTime<Utc>> {
        self.buckets()
            .into_iter()
            .map(|b| (b + self.bucket.length()).min(self.now))
            .collect()
    }
}

/// What a chart's values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Count,
    Seconds,
}

impl Unit {
    /// A value as people read it: `97.5%`, `12`, `3.5 h`.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{v:.1}%"),
            Unit::Count => format!("{}", v.round() as i64),
            Unit::Seconds => format_seconds(v),
        }
    }

    /// The suffix of CSV column names.
    pub fn csv_suffix(self) -> &'static str {
        match self {
            Unit::Percent => "_percent",
            Unit::Count => "",
            Unit::Seconds => "_seconds",
        }
    }
}

fn format_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 2.0 * 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 2.0 * 86400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86400.0)
    }
}

/// The charts of the Trends page; the slug names the CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendChart {
    SuccessRate,
    Rejections,
    Unsigned,
    TimeToDeploy,
    Revocation,
    KeyHygiene,
    Coverage,
}

impl TrendChart {
    pub const ALL: [TrendChart; 7] = [
        Self::SuccessRate,
        Self::Rejections,
        Self::Unsigned,
        Self::TimeToDeploy,
        Self::Revocation,
        Self::KeyHygiene,
        Self::Coverage,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::SuccessRate => "success-rate",
            Self::Rejections => "rejections",
            Self::Unsigned => "unsigned",
            Self::TimeToDeploy => "time-to-deploy",
            Self::Revocation => "revocation",
            Self::KeyHygiene => "key-hygiene",
            Self::Coverage => "coverage",
        }
    }

    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::SuccessRate => "Verification success rate by environment",
            Self::Rejections => "Rejections by reason",
            Self::Unsigned => "Unsigned-image attempts",
            Self::TimeToDeploy => "Time to deploy a signed image",
            Self::Revocation => "Time to contain, propagate and recover",
            Self::KeyHygiene => "Key hygiene",
            Self::Coverage => "Reporting coverage",
        }
    }

    /// One sentence on what is counted, shown under the title and read by screen readers.
    pub fn description(self) -> &'static str {
        match self {
            Self::SuccessRate => "Share of admissions that were admitted, per environment of the reporting clusters.",
            Self::Rejections => "Refused admissions per bucket, one line per reason code.",
            Self::Unsigned => "Admissions of images without any signature, by how they ended (rejected, warned, …).",
            Self::TimeToDeploy => "From Trustwatch recording a digest's first signing in the range to the first admission of that digest: median (p50) and p95, to within 1 %, by the bucket of the signing.",
            Self::Revocation => "Mean time from declaring an incident to containing the key (the bundle that refuses it published), to full propagation (the last active cluster on that bundle) and to recovery, by the bucket the incident opened in; drills beside real incidents.",
            Self::KeyHygiene => "Keys in service (neither revoked nor compromised), those older than their rotation period, and those held in files rather than a KMS or HSM, at the end of each bucket.",
            Self::Coverage => "Clusters that reported at least one admission in each bucket, against the clusters registered by then.",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::SuccessRate => Unit::Percent,
            Self::TimeToDeploy | Self::Revocation => Unit::Seconds,
            Self::Rejections | Self::Unsigned | Self::KeyHygiene | Self::Coverage => Unit::Count,
        }
    }
}

/// One line of a chart, aligned with the window's buckets; `None` where there is nothing to
/// measure (no admissions in a bucket for a rate, no deployment for a percentile).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A headline number beside a chart, over the whole range.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: Option<f64>,
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendData {
    pub chart: TrendChart,
    pub window: Window,
    pub series: Vec<Series>,
    pub figures: Vec<Figure>,
    /// Set when the range holds nothing to chart and zeros would mislead ("no incidents in this
    /// range" is not "revoked in zero seconds").
    pub empty: Option<String>,
}

impl TrendData {
    fn new(chart: TrendChart, window: Window) -> Self {
        TrendData {
            chart,
            window,
            series: Vec::new(),
            figures: Vec::new(),
            empty: None,
        }
    }

    fn series(&mut self, name: impl Into<String>) -> &mut Vec<Option<f64>> {
        let name = name.into();
        let i = match self.series.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.series.push(Series {
                    name,
                    values: vec![None; self.window.buckets().len()],
                });
                self.series.len() - 1
            }
        };
        &mut self.series[i].values
    }

    fn figure(&mut self, label: impl Into<String>, value: Option<f64>, unit: Unit) {
        self.figures.push(Figure {
            label: label.into(),
            value,
            unit,
        });
    }

    /// Puts `value` into series `name` at the bucket starting at `bucket`, adding to what is
    /// there; buckets outside the window are ignored.
    fn add(&mut self, name: &str, bucket: DateTime<Utc>, value: f64) {
        if let Some(i) = self.window.index(bucket) {
            let values = self.series(name);
            values[i] = Some(values[i].unwrap_or(0.0) + value);
        }
    }

    /// Turns the missing values of count series into zeros: no rejection in an hour is zero
    /// rejections, unlike a rate over no admissions.
    fn zero_fill(&mut self) {
        for s in &mut self.series {
            for v in &mut s.values {
                v.get_or_insert(0.0);
            }
        }
    }
}

/// Every chart of the page, read concurrently. (One `GROUPING SETS` pass over the counts for
/// the four admission charts was tried instead of four reads: at 7 days of a large fleet it took
/// 200–250 ms on one core, its sort spilling to disk, where the four reads take 170 ms between
/// them on two.)
pub async fn load_all(pool: &PgPool, window: Window) -> Result<Vec<TrendData>, ServiceError> {
    let (a, b, c, d, e, f, g) = tokio::try_join!(
        load(pool, TrendChart::SuccessRate, window),
        load(pool, TrendChart::Rejections, window),
        load(pool, TrendChart::Unsigned, window),
        load(pool, TrendChart::TimeToDeploy, window),
        load(pool, TrendChart::Revocation, window),
        load(pool, TrendChart::KeyHygiene, window),
        load(pool, TrendChart::Coverage, window),
    )?;
    Ok(vec![a, b, c, d, e, f, g])
}

/// One chart's data over `window`: what the page draws and the CSV export writes.
pub async fn load(
    pool: &PgPool,
    chart: TrendChart,
    window: Window,
) -> Result<TrendData, ServiceError> {
    match chart {
        TrendChart::SuccessRate => success_rate(pool, window).await,
        TrendChart::Rejections => rejections(pool, window).await,
        TrendChart::Unsigned => unsigned(pool, window).await,
        TrendChart::TimeToDeploy => time_to_deploy(pool, window).await,
        TrendChart::Revocation => revocation(pool, window).await,
        TrendChart::KeyHygiene => key_hygiene(pool, window).await,
        TrendChart::Coverage => coverage(pool, window).await,
    }
}

/// Admissions by bucket, environment, outcome and reason over the window, as a FROM item (the
/// caller names it) with `$1`/`$2` the window, `$3` the bucket's stride, `$4` its span and `$5`
/// the split ([`over_window`] binds them): buckets before the split come from `trend_admissions` (a few
/// dozen rows per bucket), the newer ones, not yet summed by maintenance, from
/// `verification_hourly`.
const ADMISSIONS: &str = "(SELECT bucket, environment, outcome, reason, events
     FROM trend_admissions
    WHERE span = $4 AND bucket >= $1 AND bucket < $5
   UNION ALL
   SELECT date_bin($3::interval, h.hour, timestamptz '2000-01-01 00:00:00+00'), c.environment,
          h.outcome, h.reason, h.events
     FROM verification_hourly h
     JOIN clusters c ON c.id = h.cluster_id
    WHERE h.hour >= $5 AND h.hour < $2)";

/// A query over [`ADMISSIONS`] (or the coverage query) with `$1`–`$5` bound for `window`.
async fn over_window<'q, O>(
    pool: &PgPool,
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    window: Window,
) -> Result<sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>, ServiceError>
{
    let split =
        crate::trend_rollups::summed_through(pool, window.bucket, window.from, window.to).await?;
    Ok(query
        .bind(window.from)
        .bind(window.to)
        .bind(window.bucket.stride())
        .bind(window.bucket.as_str())
        .bind(split))
}

async fn success_rate(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    // Success is "admitted" among all outcomes, as the Overview's admitted share counts it; a
    // warned admission ran, but on an image a policy objected to.
    let sql = format!(
        "SELECT bucket, environment,
                coalesce(sum(events) FILTER (WHERE outcome = 'admitted'), 0)::bigint,
                sum(events)::bigint
           FROM {ADMISSIONS} a
          GROUP BY 1, 2
          ORDER BY 2, 1"
    );
    let rows: Vec<(DateTime<Utc>, String, i64, i64)> =
        over_window(pool, sqlx::query_as(&sql), window)
            .await?
            .fetch_all(pool)
            .await?;
    Ok(success_rate_from(window, rows))
}

/// `rows`: bucket, environment, admitted, all admissions; by environment, then bucket.
fn success_rate_from(window: Window, rows: Vec<(DateTime<Utc>, String, i64, i64)>) -> TrendData {
    let mut data = TrendData::new(TrendChart::SuccessRate, window);
    let mut totals: Vec<(String, i64, i64)> = Vec::new();
    for (bucket, environment, admitted, total) in rows {
        if total > 0 {
            data.add(&environment, bucket, 100.0 * admitted as f64 / total as f64);
        }
        match totals.iter_mut().find(|t| t.0 == environment) {
            Some(t) => {
                t.1 += admitted;
                t.2 += total;
            }
            None => totals.push((environment, admitted, total)),
        }
    }
    for (environment, admitted, total) in totals {
        let rate = (total > 0).then(|| 100.0 * admitted as f64 / total as f64);
        data.figure(environment, rate, Unit::Percent);
    }
    if data.series.is_empty() {
        data.empty = Some("no admissions reported in this range".into());
    }
    data
}

/// Reasons drawn as their own line; one colour each with the "other" line.
const MAX_REASON_LINES: usize = 7;

async fn rejections(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    let sql = format!(
        "SELECT bucket, reason, sum(events)::bigint
           FROM {ADMISSIONS} a
          WHERE outcome = 'rejected'
          GROUP BY 1, 2
          ORDER BY sum(sum(events)) OVER (PARTITION BY reason) DESC, 2, 1"
    );
    let rows: Vec<(DateTime<Utc>, String, i64)> = over_window(pool, sqlx::query_as(&sql), window)
        .await?
        .fetch_all(pool)
        .await?;
    Ok(rejections_from(window, &rows))
}

/// `rows`: bucket, reason, refusals; the most frequent reason first, then by reason and bucket.
fn rejections_from(window: Window, rows: &[(DateTime<Utc>, String, i64)]) -> TrendData {
    let mut data = TrendData::new(TrendChart::Rejections, window);
    // Rows come most frequent reason first. Past the first few, lines are unreadable and
    // colours repeat, so the rest are summed as "other" (the CSV, being this data, does too).
    let mut shown: Vec<&str> = Vec::new();
    for (bucket, reason, n) in rows {
        if !shown.contains(&reason.as_str()) && shown.len() < MAX_REASON_LINES {
            shown.push(reason);
        }
        let name = if shown.contains(&reason.as_str()) {
            reason.as_str()
        } else {
            "other"
        };
        data.add(name, *bucket, *n as f64);
    }
    data.zero_fill();
    let total: i64 = rows.iter().map(|r| r.2).sum();
    data.figure("rejections", Some(total as f64), Unit::Count);
    if data.series.is_empty() {
        data.empty = Some("no rejections in this range".into());
    }
    data
}

async fn unsigned(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    let sql = format!(
        "SELECT bucket, outcome, sum(events)::bigint
           FROM {ADMISSIONS} a
          WHERE reason = $6
          GROUP BY 1, 2
          ORDER BY 2, 1"
    );
    let rows: Vec<(DateTime<Utc>, String, i64)> = over_window(pool, sqlx::query_as(&sql), window)
        .await?
        .bind(domain::ReasonCode::Unsigned.as_str())
        .fetch_all(pool)
        .await?;
    Ok(unsigned_from(window, &rows))
}

/// `rows`: bucket, outcome, admissions of unsigned images; by outcome, then bucket.
fn unsigned_from(window: Window, rows: &[(DateTime<Utc>, String, i64)]) -> TrendData {
    let mut data = TrendData::new(TrendChart::Unsigned, window);
    // A zero line is the good news this chart exists for, so it is drawn even when empty.
    data.series("unsigned");
    for (bucket, outcome, n) in rows {
        data.add("unsigned", *bucket, *n as f64);
        data.add(outcome, *bucket, *n as f64);
    }
    data.zero_fill();
    let total: i64 = rows.iter().map(|r| r.2).sum();
    data.figure("unsigned attempts", Some(total as f64), Unit::Count);
    data
}

async fn time_to_deploy(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    // Digests first signed in the range and their first admission at or after the signing, as
    // maintenance resolved them (`deployments`, up to ten minutes behind) and counted them in
    // the histogram of their signing's hour and day (`deploy_times`): the percentiles are read
    // from bins 2 % wide, within 1 % of the exact ones. A digest signed again later keeps its
    // first signing; one admitted before it was signed (audit mode) is not counted as deployed
    // by the signing.
    let buckets = crate::deploy_times::read(pool, window.bucket, window.from, window.to).await?;
    let mut data = TrendData::new(TrendChart::TimeToDeploy, window);
    data.series("p50");
    data.series("p95");
    let mut all = crate::deploy_times::DeployTimes::default();
    for (bucket, times) in &buckets {
        if let (Some(p50), Some(p95)) = (times.percentile(0.5), times.percentile(0.95)) {
            data.add("p50", *bucket, p50);
            data.add("p95", *bucket, p95);
        }
        all.merge(times);
    }
    data.figure("p50", all.percentile(0.5), Unit::Seconds);
    data.figure("p95", all.percentile(0.95), Unit::Seconds);
    data.figure("digests signed", Some(all.signed as f64), Unit::Count);
    data.figure("deployed", Some(all.deployed() as f64), Unit::Count);
    if all.signed == 0 {
        data.figures.clear();
        data.empty = Some("no signings recorded in this range".into());
    } else if all.deployed() == 0 {
        data.empty = Some("no signed digest was admitted yet in this range".into());
    }
    Ok(data)
}

async fn revocation(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        bucket: Option<DateTime<Utc>>,
        drill: Option<bool>,
        incidents: i64,
        contained: i64,
        to_contain: Option<f64>,
        propagated: i64,
        to_propagate: Option<f64>,
        recovered: i64,
        to_recover: Option<f64>,
    }
    // Each phase is measured from the declaration to the time the incident stored for its end
    // (the audit time of the step that ended it), by the bucket the incident opened in; drills
    // apart from real incidents, so a team sees its practice beside the real thing.
    let rows: Vec<Row> = sqlx::query_as(
        "WITH timed AS (
             SELECT date_bin($3::interval, opened_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                    drill,
                    extract(epoch FROM contained_at - opened_at)::float8 AS to_contain,
                    extract(epoch FROM propagated_at - opened_at)::float8 AS to_propagate,
                    extract(epoch FROM recovered_at - opened_at)::float8 AS to_recover
               FROM incidents
              WHERE opened_at >= $1 AND opened_at < $2
         )
         SELECT bucket, drill, count(*) AS incidents,
                count(to_contain) AS contained, avg(to_contain) AS to_contain,
                count(to_propagate) AS propagated, avg(to_propagate) AS to_propagate,
                count(to_recover) AS recovered, avg(to_recover) AS to_recover
           FROM timed
          GROUP BY GROUPING SETS ((bucket, drill), (drill))
          ORDER BY bucket NULLS FIRST, drill",
    )
    .bind(window.from)
    .bind(window.to)
    .bind(window.bucket.stride())
    .fetch_all(pool)
    .await?;
    let mut data = TrendData::new(TrendChart::Revocation, window);
    let total = |drill: bool| {
        rows.iter()
            .find(|r| r.bucket.is_none() && r.drill == Some(drill) && r.incidents > 0)
    };
    let (real, drills) = (total(false), total(true));
    if real.is_none() && drills.is_none() {
        data.empty = Some("no incidents in this range".into());
        return Ok(data);
    }
    data.series("time to contain");
    data.series("time to full propagation");
    data.series("time to recover");
    data.series("drills: time to contain");
    if let Some(t) = real {
        data.figure("incidents", Some(t.incidents as f64), Unit::Count);
        data.figure("mean time to contain", t.to_contain, Unit::Seconds);
        data.figure("contained", Some(t.contained as f64), Unit::Count);
        data.figure(
            "mean time to full propagation",
            t.to_propagate,
            Unit::Seconds,
        );
        data.figure("fully propagated", Some(t.propagated as f64), Unit::Count);
        data.figure("mean time to recover", t.to_recover, Unit::Seconds);
        data.figure("recovered", Some(t.recovered as f64), Unit::Count);
    }
    if let Some(t) = drills {
        data.figure("drills", Some(t.incidents as f64), Unit::Count);
        data.figure("drills: mean time to contain", t.to_contain, Unit::Seconds);
        data.figure(
            "drills: mean time to full propagation",
            t.to_propagate,
            Unit::Seconds,
        );
    }
    for r in &rows {
        let Some(bucket) = r.bucket else { continue };
        if r.drill == Some(true) {
            if let Some(s) = r.to_contain {
                data.add("drills: time to contain", bucket, s);
            }
            continue;
        }
        for (series, value) in [
            ("time to contain", r.to_contain),
            ("time to full propagation", r.to_propagate),
            ("time to recover", r.to_recover),
        ] {
            if let Some(s) = value {
                data.add(series, bucket, s);
            }
        }
    }
    Ok(data)
}

/// Mean response times of the incidents opened in one calendar quarter, real ones and drills
/// apart: the figures a security team reports, and watches fall as drills make it faster.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QuarterResponse {
    /// "2026 Q4".
    pub quarter: String,
    pub drill: bool,
    pub incidents: i64,
    pub mean_to_contain: Option<f64>,
    pub mean_to_propagate: Option<f64>,
    pub mean_to_recover: Option<f64>,
}

/// The last `quarters` calendar quarters (UTC) that had incidents or drills, newest first.
pub async fn response_by_quarter(
    pool: &PgPool,
    quarters: i64,
    now: DateTime<Utc>,
) -> Result<Vec<QuarterResponse>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT to_char(date_trunc('quarter', opened_at AT TIME ZONE 'UTC'), 'YYYY \"Q\"Q') AS quarter,
                drill, count(*) AS incidents,
                avg(extract(epoch FROM contained_at - opened_at))::float8 AS mean_to_contain,
                avg(extract(epoch FROM propagated_at - opened_at))::float8 AS mean_to_propagate,
                avg(extract(epoch FROM recovered_at - opened_at))::float8 AS mean_to_recover
           FROM incidents
          WHERE opened_at >= date_trunc('quarter', $1 AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                             - make_interval(months => 3 * ($2::int - 1))
          GROUP BY 1, 2
          ORDER BY 1 DESC, 2",
    )
    .bind(now)
    .bind(quarters.clamp(1, 40) as i32)
    .fetch_all(pool)
    .await?)
}

async fn key_hygiene(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    // History is derived from the keys table itself: a key is in service from its creation in
    // Trustwatch or the start of its validity, whichever came first (keys are often imported
    // after they went into use), until it was revoked (or, compromised without a revocation time, since the
    // compromise); overdue as the Keys page says it, a whole day past its rotation period. Keys
    // are few, so each bucket end is judged against all of them.
    let ends = window.bucket_ends();
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT t.i,
                count(k.id),
                count(k.id) FILTER (WHERE k.rotation_period_days IS NOT NULL
                    AND k.valid_from + make_interval(days => k.rotation_period_days + 1) <= t.at),
                count(k.id) FILTER (WHERE k.custody = 'file')
           FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(at, i)
           LEFT JOIN keys k
                  ON least(k.created_at, k.valid_from) <= t.at
                 AND coalesce(k.revoked_at,
                              CASE WHEN k.status IN ('revoked', 'compromised')
                                   THEN coalesce(k.compromised_since, k.created_at) END,
                              'infinity') > t.at
          GROUP BY t.i, t.at
          ORDER BY t.i",
    )
    .bind(&ends)
    .fetch_all(pool)
    .await?;
    let mut data = TrendData::new(TrendChart::KeyHygiene, window);
    for name in ["in service", "rotation overdue", "held in files"] {
        data.series(name);
    }
    let buckets = window.buckets();
    for (i, in_service, overdue, file) in &rows {
        // Ordinals count from 1; matched by position because the database keeps microseconds
        // and `now` may carry nanoseconds.
        let Some(&bucket) = usize::try_from(*i - 1).ok().and_then(|i| buckets.get(i)) else {
            continue;
        };
        data.add("in service", bucket, *in_service as f64);
        data.add("rotation overdue", bucket, *overdue as f64);
        data.add("held in files", bucket, *file as f64);
    }
    data.zero_fill();
    // The snapshot is the newest point, judged at `now`.
    if let Some((_, in_service, overdue, file)) = rows.last() {
        data.figure("keys in service now", Some(*in_service as f64), Unit::Count);
        data.figure("rotation overdue now", Some(*overdue as f64), Unit::Count);
        data.figure("held in files now", Some(*file as f64), Unit::Count);
    }
    Ok(data)
}

async fn coverage(pool: &PgPool, window: Window) -> Result<TrendData, ServiceError> {
    // Heartbeats keep only the latest time per cluster, so "reported" means "sent at least one
    // admission": a cluster that admitted nothing in a bucket counts as silent there. A cluster
    // counts as registered from its registration or its first report, whichever came first
    // (ingestion registers clusters as they appear, and replayed history predates that).
    // Summed buckets from `trend_reporting`, newer ones from `verification_hourly`, as for
    // `ADMISSIONS`.
    let reported: Vec<(DateTime<Utc>, uuid::Uuid)> = over_window(
        pool,
        sqlx::query_as(
            "SELECT bucket, cluster_id FROM trend_reporting
              WHERE span = $4 AND bucket >= $1 AND bucket < $5
             UNION ALL
             SELECT DISTINCT date_bin($3::interval, hour, timestamptz '2000-01-01 00:00:00+00'), cluster_id
               FROM verification_hourly
              WHERE hour >= $5 AND hour < $2
             ORDER BY 1",
        ),
        window,
    )
    .await?
    .fetch_all(pool)
    .await?;
    coverage_from(pool, window, &reported).await
}

/// `reported`: each bucket and cluster that reported in it, by bucket.
async fn coverage_from(
    pool: &PgPool,
    window: Window,
    reported: &[(DateTime<Utc>, uuid::Uuid)],
) -> Result<TrendData, ServiceError> {
    let clusters: Vec<(uuid::Uuid, DateTime<Utc>)> =
        sqlx::query_as("SELECT id, registered_at FROM clusters")
            .fetch_all(pool)
            .await?;
    let mut data = TrendData::new(TrendChart::Coverage, window);
    data.series("registered");
    data.series("reporting");
    let registered: Vec<DateTime<Utc>> = clusters
        .iter()
        .map(|(id, at)| {
            // Rows are in bucket order: the first is the cluster's first report in the window.
            let first = reported.iter().find(|(_, c)| c == id).map(|(b, _)| *b);
            first.map_or(*at, |f| f.min(*at))
        })
        .collect();
    for (bucket, end) in window.buckets().into_iter().zip(window.bucket_ends()) {
        let n = registered.iter().filter(|r| **r < end).count();
        data.add("registered", bucket, n as f64);
    }
    for (bucket, _) in reported {
        data.add("reporting", *bucket, 1.0);
    }
    data.zero_fill();
    data.figure(
        "clusters registered",
        Some(clusters.len() as f64),
        Unit::Count,
    );
    Ok(data)
}

/// The chart's data as CSV: one row per bucket (its UTC start, RFC 3339), one column per
/// series, empty where the chart has no point.
pub fn to_csv(data: &TrendData) -> String {
    let suffix = data.chart.unit().csv_suffix();
    let mut out = String::from("bucket_start");
    for s in &data.series {
        out.push(',');
        out.push_str(&csv_field(&format!("{}{suffix}", s.name)));
    }
    out.push('\n');
    for (i, bucket) in data.window.buckets().iter().enumerate() {
        out.push_str(&bucket.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        for s in &data.series {
            out.push(',');
            if let Some(v) = s.values[i] {
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    out
}

pub(crate) fn csv_field(s: &str) -> String {
    // Quoted when needed, and a leading formula character defused for spreadsheets.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Admissions of the last 24 hours (the current hour and the 23 before it) per cluster, outcome
/// and reason, from the rollup: the `/metrics` gauge.
pub async fn admissions_by_reason(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String, String, i64)>, ServiceError> {
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    Ok(sqlx::query_as(
        "SELECT c.name, h.outcome, h.reason, sum(h.events)::bigint
           FROM verification_hourly h
           JOIN clusters c ON c.id = h.cluster_id
          WHERE h.hour >= $1 AND h.hour <= $2
          GROUP BY 1, 2, 3
          ORDER BY 1, 2, 3",
    )
    .bind(hour - Duration::hours(23))
    .bind(now)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, m, 0).unwrap()
    }

    #[test]
    fn ranges_round_trip_and_pick_their_bucket() {
        for r in TrendRange::ALL {
            assert_eq!(TrendRange::parse(r.as_str()).unwrap(), r);
        }
        assert!(TrendRange::parse("1y").is_err());
        assert_eq!(TrendRange::Week.bucket(), Bucket::Hour);
        assert_eq!(TrendRange::Month.bucket(), Bucket::Day);
    }

    #[test]
    fn a_window_is_whole_buckets_ending_with_the_current_one() {
        let w = Window::ending_at(TrendRange::Day, at(14, 37));
        assert_eq!(w.to, at(15, 0));
        assert_eq!(w.from, at(15, 0) - Duration::hours(24));
        assert_eq!(w.buckets().len(), 24);
        assert_eq!(w.index(at(14, 0)), Some(23));
        assert_eq!(w.index(at(15, 0)), None);
        assert_eq!(*w.bucket_ends().last().unwrap(), at(14, 37));
        let q = Window::ending_at(TrendRange::Quarter, at(14, 37));
        assert_eq!(q.buckets().len(), 90);
    }

    #[test]
    fn csv_has_one_row_per_bucket_and_escapes_names() {
        let w = Window::ending_at(TrendRange::Day, at(14, 37));
        let mut d = TrendData::new(TrendChart::SuccessRate, w);
        d.add("prod,eu", at(14, 0), 99.5);
        d.add("=cmd", at(13, 0), 50.0);
        let csv = to_csv(&d);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "bucket_start,\"prod,eu_percent\",'=cmd_percent");
        assert_eq!(lines.len(), 25);
        assert_eq!(lines[24], "2026-11-25T14:00:00Z,99.5,");
        assert_eq!(lines[23], "2026-11-25T13:00:00Z,,50");
    }

    #[test]
    fn units_read_as_people_say_them() {
        assert_eq!(Unit::Seconds.format(90.0), "90 s");
        assert_eq!(Unit::Seconds.format(1800.0), "30 min");
        assert_eq!(Unit::Seconds.format(3.0 * 3600.0), "3.0 h");
        assert_eq!(Unit::Percent.format(97.26), "97.3%");
    }
}
