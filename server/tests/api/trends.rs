//! The Trends page: each chart's numbers from seeded rows with known answers, the CSV export
//! (session required, same numbers), the page for a viewer, and the `/metrics` additions.

use chrono::{DateTime, Datelike, Duration, Utc};
use domain::{
    Digest, Engine, ImageReference, KeyFingerprint, Outcome, ReasonCode, Role, SigningEvent,
    TokenScope, VerificationEvent,
};
use serde_json::{json, Value};
use service::trends::{self, TrendChart, TrendData, TrendRange, Window};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{browser, location, spawn_app, TestApp};

const KEY: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn event(
    cluster: &str,
    digest_n: u8,
    outcome: Outcome,
    reason: ReasonCode,
    at: DateTime<Utc>,
) -> VerificationEvent {
    VerificationEvent {
        id: Uuid::now_v7(),
        cluster: cluster.into(),
        namespace: "payments".into(),
        workload_kind: "Deployment".into(),
        workload_name: "api".into(),
        image: ImageReference::parse("registry.example.com/payments/api:1.0").unwrap(),
        digest: Some(Digest::parse(&digest(digest_n)).unwrap()),
        outcome,
        reason,
        engine: Engine::Kyverno,
        policy: None,
        message: None,
        checks: json!([]),
        remediation: Vec::new(),
        keys: Vec::new(),
        observed_at: at,
    }
}

/// `n` copies of an event.
fn events(
    n: usize,
    cluster: &str,
    outcome: Outcome,
    reason: ReasonCode,
    at: DateTime<Utc>,
) -> Vec<VerificationEvent> {
    (0..n)
        .map(|_| event(cluster, 1, outcome, reason, at))
        .collect()
}

async fn ingest(pool: &PgPool, events: &[VerificationEvent]) {
    service::ingest::record_verification_events(
        pool,
        &service::Actor::cli(),
        events,
        Utc::now(),
        true,
    )
    .await
    .unwrap();
}

async fn sign(pool: &PgPool, digest_n: u8, recorded_at: DateTime<Utc>) {
    let e = SigningEvent {
        id: Uuid::now_v7(),
        key: KeyFingerprint::parse(KEY).unwrap(),
        image: ImageReference::parse("registry.example.com/payments/api:1.0").unwrap(),
        digest: Digest::parse(&digest(digest_n)).unwrap(),
        signer_identity: "ci/release".into(),
        signer_host: None,
        payload: None,
        signature: None,
        claimed_at: None,
    };
    service::ingest::record_signing_events(pool, &[e], recorded_at)
        .await
        .unwrap();
}

fn series<'a>(data: &'a TrendData, name: &str) -> &'a [Option<f64>] {
    &data
        .series
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no series {name} in {:?}", data.series))
        .values
}

fn figure(data: &TrendData, label: &str) -> Option<f64> {
    data.figures
        .iter()
        .find(|f| f.label == label)
        .unwrap_or_else(|| panic!("no figure {label} in {:?}", data.figures))
        .value
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

/// Within the precision time to deploy promises: 1 % (its histogram bins are 2 % wide).
fn within_one_percent(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 0.01 * b)
}

/// Three clusters report in bucket 20 of a 24-hour window, one of them again in bucket 22; a
/// fourth registers in bucket 21 and never reports.
async fn seed_admissions(pool: &PgPool, window: &Window) -> (DateTime<Utc>, DateTime<Utc>) {
    let b = window.buckets();
    let (b20, b22) = (b[20] + Duration::minutes(5), b[22] + Duration::minutes(5));
    let mut all = Vec::new();
    all.extend(events(
        3,
        "prod-a",
        Outcome::Admitted,
        ReasonCode::Admitted,
        b20,
    ));
    all.extend(events(
        1,
        "prod-a",
        Outcome::Rejected,
        ReasonCode::Unsigned,
        b20,
    ));
    all.extend(events(
        1,
        "prod-b",
        Outcome::Admitted,
        ReasonCode::Admitted,
        b20,
    ));
    all.extend(events(
        1,
        "prod-b",
        Outcome::Rejected,
        ReasonCode::KeyRevoked,
        b20,
    ));
    all.extend(events(
        1,
        "stage-a",
        Outcome::Admitted,
        ReasonCode::Admitted,
        b20,
    ));
    all.extend(events(
        1,
        "stage-a",
        Outcome::Warned,
        ReasonCode::Unsigned,
        b20,
    ));
    all.extend(events(
        2,
        "prod-a",
        Outcome::Admitted,
        ReasonCode::Admitted,
        b22,
    ));
    ingest(pool, &all).await;
    sqlx::query(
        "UPDATE clusters SET registered_at = $1,
                environment = CASE WHEN name LIKE 'prod-%' THEN 'prod' ELSE 'staging' END",
    )
    .bind(window.from - Duration::days(2))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO clusters (id, name, environment, registered_at)
         VALUES (gen_random_uuid(), 'idle', 'prod', $1)",
    )
    .bind(b[21] + Duration::minutes(30))
    .execute(pool)
    .await
    .unwrap();
    (b20, b22)
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn success_rate_rejections_unsigned_and_coverage_come_from_the_rollup(pool: PgPool) {
    let window = Window::ending_at(TrendRange::Day, Utc::now());
    seed_admissions(&pool, &window).await;

    let rate = trends::load(&pool, TrendChart::SuccessRate, window)
        .await
        .unwrap();
    // prod in bucket 20: 4 admitted of 6; staging: 1 of 2. Bucket 22: prod 2 of 2, no staging.
    assert!(close(series(&rate, "prod")[20], 400.0 / 6.0));
    assert!(close(series(&rate, "staging")[20], 50.0));
    assert!(close(series(&rate, "prod")[22], 100.0));
    assert_eq!(
        series(&rate, "staging")[22],
        None,
        "no admissions is no rate"
    );
    assert_eq!(series(&rate, "prod")[0], None);
    assert!(close(figure(&rate, "prod"), 75.0), "6 of 8 over the range");
    assert!(close(figure(&rate, "staging"), 50.0));

    let rejections = trends::load(&pool, TrendChart::Rejections, window)
        .await
        .unwrap();
    assert_eq!(series(&rejections, "unsigned")[20], Some(1.0));
    assert_eq!(series(&rejections, "key_revoked")[20], Some(1.0));
    assert_eq!(series(&rejections, "unsigned")[22], Some(0.0));
    assert_eq!(rejections.series.len(), 2, "warned is not a rejection");
    assert_eq!(figure(&rejections, "rejections"), Some(2.0));

    let unsigned = trends::load(&pool, TrendChart::Unsigned, window)
        .await
        .unwrap();
    assert_eq!(series(&unsigned, "unsigned")[20], Some(2.0));
    assert_eq!(series(&unsigned, "rejected")[20], Some(1.0));
    assert_eq!(series(&unsigned, "warned")[20], Some(1.0));
    assert_eq!(figure(&unsigned, "unsigned attempts"), Some(2.0));

    let coverage = trends::load(&pool, TrendChart::Coverage, window)
        .await
        .unwrap();
    assert_eq!(series(&coverage, "reporting")[20], Some(3.0));
    assert_eq!(series(&coverage, "reporting")[21], Some(0.0));
    assert_eq!(series(&coverage, "reporting")[22], Some(1.0));
    assert_eq!(series(&coverage, "registered")[20], Some(3.0));
    assert_eq!(series(&coverage, "registered")[21], Some(4.0));

    // A 30-day window puts the same admissions into one day bucket (or two, across midnight).
    let month = Window::ending_at(TrendRange::Month, window.now);
    let rate = trends::load(&pool, TrendChart::SuccessRate, month)
        .await
        .unwrap();
    let prod: Vec<f64> = series(&rate, "prod").iter().flatten().copied().collect();
    assert!(!prod.is_empty() && prod.len() <= 2, "{prod:?}");
    assert_eq!(series(&rate, "prod").len(), 30);
}

/// The four admission charts, for a window.
async fn admission_charts(pool: &PgPool, window: Window) -> Vec<TrendData> {
    let mut out = Vec::new();
    for chart in [
        TrendChart::SuccessRate,
        TrendChart::Rejections,
        TrendChart::Unsigned,
        TrendChart::Coverage,
    ] {
        out.push(trends::load(pool, chart, window).await.unwrap());
    }
    out
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn charts_read_the_same_before_and_after_maintenance_sums_them(pool: PgPool) {
    let now = Utc::now();
    let (day, week, month) = (
        Window::ending_at(TrendRange::Day, now),
        Window::ending_at(TrendRange::Week, now),
        Window::ending_at(TrendRange::Month, now),
    );
    seed_admissions(&pool, &day).await;
    // Older admissions, so whole past days and hours are summed too.
    let mut older = events(
        4,
        "prod-a",
        Outcome::Rejected,
        ReasonCode::KeyRevoked,
        now - Duration::days(5),
    );
    older.extend(events(
        2,
        "stage-a",
        Outcome::Admitted,
        ReasonCode::Admitted,
        now - Duration::days(3),
    ));
    ingest(&pool, &older).await;
    let windows = [day, week, month];
    let mut before = Vec::new();
    for w in windows {
        before.push(admission_charts(&pool, w).await);
    }

    let report = service::rollups::run(&pool, now).await.unwrap();
    assert!(report.trends.admission_rows > 0 && report.trends.reporting_rows > 0);
    // Everything but the current hour and today is now read from the trend rollups.
    let (hours, days): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE span = 'hour'), count(*) FILTER (WHERE span = 'day')
           FROM trend_admissions",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(hours >= 4 && days >= 2, "{hours} hourly, {days} daily rows");
    for (w, expected) in windows.iter().zip(&before) {
        assert_eq!(
            &admission_charts(&pool, *w).await,
            expected,
            "{:?}",
            w.range
        );
    }
    // Running again changes nothing.
    service::rollups::run(&pool, now).await.unwrap();
    assert_eq!(admission_charts(&pool, week).await, before[1]);

    // Admissions after the watermark are read from the hourly rollup until the next run.
    ingest(
        &pool,
        &events(3, "prod-b", Outcome::Rejected, ReasonCode::Unsigned, now),
    )
    .await;
    let rejections = trends::load(&pool, TrendChart::Rejections, week)
        .await
        .unwrap();
    let last = week.buckets().len() - 1;
    assert_eq!(series(&rejections, "unsigned")[last], Some(3.0));
    assert_eq!(
        figure(&rejections, "rejections"),
        figure(&before[1][1], "rejections").map(|n| n + 3.0)
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn time_to_deploy_is_first_signing_to_first_admission(pool: PgPool) {
    let window = Window::ending_at(TrendRange::Day, Utc::now());
    let signed = window.buckets()[10] + Duration::minutes(10);
    let s = |secs: i64| signed + Duration::seconds(secs);
    for d in 1..=4 {
        sign(&pool, d, signed).await;
    }
    // Signed again later: the first signing counts.
    sign(&pool, 1, s(3 * 3600)).await;
    ingest(
        &pool,
        &[
            event("prod-a", 1, Outcome::Admitted, ReasonCode::Admitted, s(60)),
            // A refusal before the first admission is not a deployment.
            event("prod-a", 2, Outcome::Rejected, ReasonCode::Unsigned, s(30)),
            event("prod-a", 2, Outcome::Admitted, ReasonCode::Admitted, s(120)),
            event(
                "prod-b",
                2,
                Outcome::Admitted,
                ReasonCode::Admitted,
                s(1000),
            ),
            event("prod-a", 3, Outcome::Admitted, ReasonCode::Admitted, s(600)),
            // Admitted before it was signed (audit mode): not deployed by the signing.
            event(
                "prod-a",
                4,
                Outcome::Admitted,
                ReasonCode::Admitted,
                s(-100),
            ),
        ],
    )
    .await;
    // Maintenance resolves each signed digest's first admission.
    service::deployments::refresh(&pool, Utc::now())
        .await
        .unwrap();

    let data = trends::load(&pool, TrendChart::TimeToDeploy, window)
        .await
        .unwrap();
    // 60, 120, 600 seconds: p50 = 120; p95 interpolates 90% of the way from 120 to 600. Read
    // from histograms, each within 1 %.
    let p50 = series(&data, "p50")[10];
    assert!(within_one_percent(p50, 120.0), "{:?}", data.series);
    assert!(within_one_percent(series(&data, "p95")[10], 552.0));
    assert_eq!(series(&data, "p50")[13], None);
    assert!(within_one_percent(figure(&data, "p50"), 120.0));
    assert!(within_one_percent(figure(&data, "p95"), 552.0));
    assert_eq!(figure(&data, "digests signed"), Some(4.0));
    assert_eq!(figure(&data, "deployed"), Some(3.0));
    assert_eq!(data.empty, None);

    // The next run builds the signing's buckets again: digest 4 is admitted after its signing
    // now, so 60, 120, 300, 600 s: p50 halfway from 120 to 300, p95 85 % of the way to 600.
    ingest(
        &pool,
        &[event(
            "prod-b",
            4,
            Outcome::Admitted,
            ReasonCode::Admitted,
            s(300),
        )],
    )
    .await;
    service::deployments::refresh(&pool, Utc::now())
        .await
        .unwrap();
    let data = trends::load(&pool, TrendChart::TimeToDeploy, window)
        .await
        .unwrap();
    assert_eq!(figure(&data, "deployed"), Some(4.0));
    assert!(
        within_one_percent(series(&data, "p50")[10], 210.0),
        "{:?}",
        data.series
    );
    assert!(within_one_percent(series(&data, "p95")[10], 555.0));
    // The day's histogram carries the same digests to the 30-day view.
    let month = trends::load(
        &pool,
        TrendChart::TimeToDeploy,
        Window::ending_at(TrendRange::Month, window.now),
    )
    .await
    .unwrap();
    assert_eq!(figure(&month, "deployed"), Some(4.0));
    assert!(within_one_percent(figure(&month, "p50"), 210.0));

    // Nothing signed in the range: said so, not charted as zero.
    let earlier = Window::ending_at(TrendRange::Day, window.from - Duration::days(3));
    let none = trends::load(&pool, TrendChart::TimeToDeploy, earlier)
        .await
        .unwrap();
    assert_eq!(
        none.empty.as_deref(),
        Some("no signings recorded in this range")
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn response_times_come_from_the_incidents_drills_apart_and_say_when_there_are_none(
    pool: PgPool,
) {
    let window = Window::ending_at(TrendRange::Week, Utc::now());
    let none = trends::load(&pool, TrendChart::Revocation, window)
        .await
        .unwrap();
    assert_eq!(none.empty.as_deref(), Some("no incidents in this range"));
    assert!(
        none.figures.is_empty(),
        "no zeros for a range without incidents"
    );

    let opened = window.buckets()[100] + Duration::minutes(1);
    // Two real incidents (one fully propagated and recovered) and a drill, as the console
    // stores them: each phase's end on the incident row.
    for (offset, contain, propagation, recovery, drill) in [
        (0, 600, Some(3600), Some(7200), false),
        (5, 1200, None, None, false),
        (10, 120, Some(300), None, true),
    ] {
        let at = opened + Duration::minutes(offset);
        let after = |s: Option<i64>| s.map(|s| at + Duration::seconds(s));
        sqlx::query(
            "INSERT INTO incidents (id, playbook, playbook_version, title, severity, commander, opened_by,
                                    opened_at, playbook_document, drill, contained_at, propagated_at, recovered_at)
             VALUES ($1, 'key-compromise', '1', 'leaked key', 'high', 'sec@example.com', 'sec@example.com',
                     $2, '{}', $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(at)
        .bind(drill)
        .bind(after(Some(contain)))
        .bind(after(propagation))
        .bind(after(recovery))
        .execute(&pool)
        .await
        .unwrap();
    }
    let data = trends::load(&pool, TrendChart::Revocation, window)
        .await
        .unwrap();
    assert_eq!(data.empty, None);
    assert_eq!(figure(&data, "incidents"), Some(2.0));
    assert!(close(figure(&data, "mean time to contain"), 900.0));
    assert!(close(
        figure(&data, "mean time to full propagation"),
        3600.0
    ));
    assert_eq!(figure(&data, "fully propagated"), Some(1.0));
    assert!(close(figure(&data, "mean time to recover"), 7200.0));
    assert_eq!(figure(&data, "drills"), Some(1.0));
    assert!(close(figure(&data, "drills: mean time to contain"), 120.0));
    assert!(close(series(&data, "time to contain")[100], 900.0));
    assert!(close(series(&data, "drills: time to contain")[100], 120.0));
    assert_eq!(series(&data, "time to contain")[99], None);

    let quarters = trends::response_by_quarter(&pool, 4, Utc::now())
        .await
        .unwrap();
    let real = quarters.iter().find(|q| !q.drill).unwrap();
    assert_eq!(real.incidents, 2);
    assert!(close(real.mean_to_contain, 900.0));
    assert!(close(real.mean_to_recover, 7200.0));
    let drills = quarters.iter().find(|q| q.drill).unwrap();
    assert_eq!(drills.incidents, 1);
    assert!(close(drills.mean_to_propagate, 300.0));
    let q = (opened.month0() / 3) + 1;
    assert_eq!(real.quarter, format!("{} Q{q}", opened.year()));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn key_hygiene_counts_overdue_and_file_keys_now_and_over_time(pool: PgPool) {
    let now = Utc::now();
    let window = Window::ending_at(TrendRange::Week, now);
    let revoked_at = window.buckets()[100] + Duration::minutes(30);
    let keys = [
        // name, custody, status, valid_from, rotation, revoked_at
        (
            "old-file",
            "file",
            "active",
            now - Duration::days(100),
            Some(90),
            None,
        ),
        (
            "fresh-kms",
            "kms",
            "active",
            now - Duration::days(10),
            Some(90),
            None,
        ),
        (
            "gone-file",
            "file",
            "revoked",
            now - Duration::days(10),
            None,
            Some(revoked_at),
        ),
    ];
    for (i, (name, custody, status, valid_from, rotation, revoked)) in keys.into_iter().enumerate()
    {
        sqlx::query(
            "INSERT INTO keys (id, name, fingerprint, algorithm, public_key_pem, owner_team, custody,
                               status, valid_from, rotation_period_days, revoked_at, created_at)
             VALUES ($1, $2, $3, 'ecdsa-p256', 'pem', 'platform', $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(format!("sha256:{}", format!("{i:02x}").repeat(32)))
        .bind(custody)
        .bind(status)
        .bind(valid_from)
        .bind(rotation)
        .bind(revoked)
        .bind(now - Duration::days(8))
        .execute(&pool)
        .await
        .unwrap();
    }
    let data = trends::load(&pool, TrendChart::KeyHygiene, window)
        .await
        .unwrap();
    assert_eq!(series(&data, "in service")[99], Some(3.0));
    assert_eq!(series(&data, "held in files")[99], Some(2.0));
    assert_eq!(
        series(&data, "in service")[100],
        Some(2.0),
        "revoked in bucket 100"
    );
    assert_eq!(series(&data, "rotation overdue")[167], Some(1.0));
    assert_eq!(figure(&data, "keys in service now"), Some(2.0));
    assert_eq!(figure(&data, "rotation overdue now"), Some(1.0));
    assert_eq!(figure(&data, "held in files now"), Some(1.0));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_csv_needs_a_session_and_carries_the_charts_numbers(pool: PgPool) {
    let app = spawn_app(pool).await;
    let window = Window::ending_at(TrendRange::Day, Utc::now());
    let (b20, _) = seed_admissions(&app.pool, &window).await;

    let anonymous = browser();
    let res = anonymous
        .get(app.url("/trends/rejections.csv?range=24h"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(
        location(&res).starts_with("/login?next="),
        "{}",
        location(&res)
    );

    let res = anonymous
        .get(app.url("/trends/rejections.svg?range=24h"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());

    let viewer = app.logged_in("manager@example.com", Role::Viewer).await;
    let res = viewer
        .get(app.url("/trends/rejections.csv?range=24h"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"trustwatch-rejections-24h-"),
        "{disposition}"
    );
    let csv = res.text().await.unwrap();
    let expected = trends::to_csv(
        &trends::load(&app.pool, TrendChart::Rejections, window)
            .await
            .unwrap(),
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0], "bucket_start,key_revoked,unsigned",
        "equal totals: by name"
    );
    assert_eq!(lines.len(), 25);
    let hour = b20.format("%Y-%m-%dT%H:00:00Z").to_string();
    let row = lines.iter().find(|l| l.starts_with(&hour)).unwrap();
    assert_eq!(*row, format!("{hour},1,1"));
    assert!(
        expected.contains(*row),
        "the service's CSV has the same row"
    );

    let res = viewer
        .get(app.url("/trends/success-rate.csv?range=30d"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(
        csv.starts_with("bucket_start,prod_percent,staging_percent\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 31);

    let res = viewer
        .get(app.url("/trends/nonsense.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = viewer
        .get(app.url("/trends/coverage.csv?range=1y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_viewer_sees_every_chart_drawn_on_the_server(pool: PgPool) {
    let app = spawn_app(pool).await;
    let window = Window::ending_at(TrendRange::Day, Utc::now());
    seed_admissions(&app.pool, &window).await;
    let viewer = app.logged_in("manager@example.com", Role::Viewer).await;

    let res = viewer
        .get(app.url("/trends?range=24h"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for chart in TrendChart::ALL {
        assert!(html.contains(chart.title()), "{} missing", chart.title());
        assert!(html.contains(&format!("/trends/{}.csv?range=24h", chart.slug())));
    }
    // Each chart is an image of its SVG, described in words; the SVG itself stays out of the page.
    assert!(
        !html.contains("<svg"),
        "no SVG inlined in the page or its hydration data"
    );
    let src = html
        .find("src=\"/trends/success-rate.svg?range=24h\"")
        .expect("the success rate's image");
    let start = html[..src].rfind("<img").expect("an <img> tag");
    let img = &html[start..start + html[start..].find('>').unwrap()];
    let alt = "alt=\"Share of admissions that were admitted, per environment of the reporting clusters. Last 24 hours, one point per hour.";
    assert!(img.contains(alt), "the image's text alternative: {img}");
    assert!(
        img.contains("prod: from 66.7% to 100.0%"),
        "with each series' range: {img}"
    );
    assert!(html.contains("no incidents in this range"));

    let res = viewer
        .get(app.url("/trends/success-rate.svg?range=24h"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let svg = res.text().await.unwrap();
    assert!(
        svg.starts_with(
            "<svg role=\"img\" aria-labelledby=\"success-rate-title success-rate-desc\""
        ),
        "{}",
        &svg[..svg.len().min(200)]
    );
    assert!(svg.contains(
        "<title id=\"success-rate-title\">Verification success rate by environment</title>"
    ));
    assert!(
        svg.contains("prod: from 66.7% to 100.0%"),
        "the description"
    );
    assert!(svg.contains("<polyline"), "a line drawn");
    let res = viewer
        .get(app.url("/trends/time-to-deploy.svg?range=90d"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Last 90 days, one point per day."));
    let res = viewer
        .get(app.url("/trends/success-rate.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let res = app.server_fn(&viewer, "trends", "range=90d").await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["range"], "90d");
    assert_eq!(view["bucket"], "day");
    assert_eq!(view["charts"].as_array().unwrap().len(), 7);
    assert_eq!(view["charts"][0]["rows"].as_array().unwrap().len(), 90);

    let res = app.server_fn(&viewer, "trends", "range=forever").await;
    assert_eq!(res.status(), 422);
    let res = app.server_fn(&browser(), "trends", "range=7d").await;
    assert_eq!(res.status(), 401);
}

async fn scrape(app: &TestApp, token: &str) -> String {
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn metrics_count_ingestion_admission_reviews_and_the_bundle(pool: PgPool) {
    let app = spawn_app(pool).await;
    let reader = app
        .token("prometheus", &[TokenScope::Read], None, false)
        .await;
    // Other tests in this process move the same counters, so only growth is asserted.
    let before = scrape(&app, &reader).await;

    let cluster = app.cluster_token("prod-eu-1").await;
    let id = Uuid::now_v7().to_string();
    let body = json!({"events": [{
        "id": id, "namespace": "payments", "workload": {"kind": "Deployment", "name": "api"},
        "image": "registry.example.com/payments/api:1.4.2", "digest": digest(9),
        "outcome": "rejected", "reason": "unsigned", "engine": "kyverno",
        "checks": [], "keys": [], "observed_at": Utc::now().to_rfc3339(),
    }]});
    for _ in 0..2 {
        let res = app
            .post_json("/api/v1/verification-events", &cluster, &body)
            .await;
        assert_eq!(res.status(), 200);
    }
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": Uuid::new_v4().to_string(),
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "name": "settings", "namespace": "payments", "operation": "CREATE",
            "userInfo": {"username": "dev@example.com"},
            "object": {"metadata": {"name": "settings"}}, "oldObject": null, "dryRun": false
        }
    });
    let res = app.post_json("/k8s/admission", &cluster, &review).await;
    assert_eq!(res.status(), 200);

    let after = scrape(&app, &reader).await;
    let grew = |line: &str, by: f64| {
        let (b, a) = (metric(&before, line), metric(&after, line));
        assert!(a >= b + by, "{line}: {b} → {a}\n{after}");
    };
    grew(
        "trustwatch_ingested_events_total{kind=\"verification\",result=\"accepted\"}",
        1.0,
    );
    grew(
        "trustwatch_ingested_events_total{kind=\"verification\",result=\"duplicate\"}",
        1.0,
    );
    grew(
        "trustwatch_ingest_batch_duration_seconds_count{kind=\"verification\"}",
        2.0,
    );
    grew(
        "trustwatch_ingest_batch_duration_seconds_bucket{kind=\"verification\",le=\"+Inf\"}",
        2.0,
    );
    grew("trustwatch_admission_review_duration_seconds_count", 1.0);
    assert!(after.contains("# TYPE trustwatch_admission_review_duration_seconds histogram"));
    assert!(after.contains(
        "trustwatch_admissions_by_reason_24h{cluster=\"prod-eu-1\",outcome=\"rejected\",reason=\"unsigned\"} 1\n"
    ));
    let version: i64 = sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(after.contains(&format!("trustwatch_trust_bundle_version {version}\n")));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn rare_reasons_are_summed_as_other_and_reporting_clusters_count_as_registered(pool: PgPool) {
    let window = Window::ending_at(TrendRange::Day, Utc::now());
    let at = window.buckets()[3] + Duration::minutes(1);
    // Nine reasons, the first most frequent: seven lines, the last two (1 each) summed.
    let reasons = [
        ReasonCode::Unsigned,
        ReasonCode::KeyRevoked,
        ReasonCode::UnknownKey,
        ReasonCode::SignatureInvalid,
        ReasonCode::IdentityMismatch,
        ReasonCode::DigestMismatch,
        ReasonCode::ThresholdNotMet,
        ReasonCode::DigestRequired,
        ReasonCode::NoMatchingPolicy,
    ];
    let mut all = Vec::new();
    for (i, reason) in reasons.into_iter().enumerate() {
        let n = if i < 7 { 10 - i } else { 1 };
        all.extend(events(n, "prod-a", Outcome::Rejected, reason, at));
    }
    ingest(&pool, &all).await;
    let data = trends::load(&pool, TrendChart::Rejections, window)
        .await
        .unwrap();
    let names: Vec<&str> = data.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "unsigned",
            "key_revoked",
            "unknown_key",
            "signature_invalid",
            "identity_mismatch",
            "digest_mismatch",
            "threshold_not_met",
            "other"
        ]
    );
    assert_eq!(series(&data, "other")[3], Some(2.0));
    assert_eq!(series(&data, "unsigned")[3], Some(10.0));

    // prod-a was registered by ingestion just now, but it reported in bucket 3.
    let coverage = trends::load(&pool, TrendChart::Coverage, window)
        .await
        .unwrap();
    assert_eq!(series(&coverage, "registered")[2], Some(0.0));
    assert_eq!(series(&coverage, "registered")[3], Some(1.0));
    assert_eq!(series(&coverage, "reporting")[3], Some(1.0));
}
