//! `trustwatch bench pages`: how fast every page renders on the server over a large fleet's
//! history. `--load` fills the database at DATABASE_URL through the ingestion code (the bulk
//! path the APIs use) with verification and signing events spread over 90 days, on top of the
//! demo's keys and policies; `--server` then logs in and times each page's full server render
//! (every server function it calls included), reporting p50/p95/max. `scripts/bench pages`
//! runs both against a release server.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::Args;
use domain::{
    Digest, Engine, ImageReference, KeyFingerprint, Outcome, ReasonCode, SigningEvent,
    VerificationEvent,
};
use sqlx::PgPool;

#[derive(Args)]
pub struct PagesArgs {
    /// Load events into the database at DATABASE_URL instead of timing pages.
    #[arg(long)]
    load: bool,
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    #[arg(long, default_value_t = 1_000_000)]
    signing_events: u64,
    /// The server to time, e.g. http://127.0.0.1:3000
    #[arg(long)]
    server: Option<String>,
    #[arg(long, env = "TRUSTWATCH_ADMIN_EMAIL")]
    email: Option<String>,
    #[arg(long, env = "TRUSTWATCH_ADMIN_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Renders of each page.
    #[arg(long, default_value_t = 30)]
    renders: usize,
}

/// The spread of the loaded history.
const DAYS: i64 = 90;
const CLUSTERS: u64 = 30;
const TEAMS: u64 = 10;
const REPOSITORIES: u64 = 2000;
const IDENTITIES: u64 = 40;
const BATCH: u64 = 5000;

pub async fn run(settings: &crate::Settings, args: PagesArgs) -> anyhow::Result<()> {
    if args.load {
        let pool = super::connect(settings).await?;
        load(&pool, &args).await
    } else {
        time_pages(settings, &args).await
    }
}

/// A cheap deterministic mix of `k`, so the same run loads the same data.
fn mix(k: u64) -> u64 {
    let mut x = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn repository(r: u64) -> String {
    format!("registry.example.com/team{}/service-{r}", r % TEAMS)
}

/// One digest per repository and release day: a team ships about once a day.
fn digest(r: u64, day: i64) -> Digest {
    Digest::of(format!("{r}/{day}").as_bytes())
}

const REASONS: [(ReasonCode, u64); 8] = [
    (ReasonCode::Unsigned, 40),
    (ReasonCode::ThresholdNotMet, 15),
    (ReasonCode::SignatureInvalid, 10),
    (ReasonCode::KeyRevoked, 10),
    (ReasonCode::DigestRequired, 10),
    (ReasonCode::IdentityMismatch, 5),
    (ReasonCode::UnknownKey, 5),
    (ReasonCode::RegistryUnreachable, 5),
];

fn reason_for(x: u64) -> ReasonCode {
    let mut pick = x % 100;
    for (reason, weight) in REASONS {
        if pick < weight {
            return reason;
        }
        pick -= weight;
    }
    ReasonCode::Unsigned
}

/// Event `k` of `n`: times run from 90 days ago to now as `k` grows, so batches fill one
/// month's partition after another as a live fleet would.
fn verification_event(
    k: u64,
    n: u64,
    now: DateTime<Utc>,
    keys: &[KeyFingerprint],
) -> VerificationEvent {
    let x = mix(k);
    let span_ms = DAYS * 86_400_000;
    let age_ms = span_ms - (span_ms as u128 * k as u128 / n as u128) as i64;
    let observed_at = now - chrono::Duration::milliseconds(age_ms.max(1));
    let day = (now - observed_at).num_days();
    let cluster = x % CLUSTERS;
    let r = (x >> 8) % REPOSITORIES;
    let team = r % TEAMS;
    // 88 % admitted, 9 % rejected, 2 % warned, 1 % errors.
    let roll = (x >> 20) % 100;
    let outcome = match roll {
        0..=87 => Outcome::Admitted,
        88..=96 => Outcome::Rejected,
        97..=98 => Outcome::Warned,
        _ => Outcome::Error,
    };
    let reason = if outcome == Outcome::Admitted {
        ReasonCode::Admitted
    } else {
        reason_for(x >> 28)
    };
    let engine = Engine::ALL[(cluster % Engine::ALL.len() as u64) as usize];
    let repo = repository(r);
    let d = digest(r, day);
    VerificationEvent {
        id: uuid::Uuid::from_u64_pair(0x7477_6265_6e63_6800, k),
        cluster: format!(
            "bench-{}-{cluster}",
            ["prod", "staging", "dev"][(cluster % 3) as usize]
        ),
        namespace: if (x >> 40).is_multiple_of(4) {
            format!("team{team}-jobs")
        } else {
            format!("team{team}")
        },
        workload_kind: "Deployment".into(),
        workload_name: format!("service-{r}"),
        image: ImageReference::parse(&format!("{repo}:1.{day}.0")).expect("a valid reference"),
        digest: (reason != ReasonCode::DigestRequired).then_some(d),
        outcome,
        reason,
        engine,
        policy: Some(format!("team{team}-prod")),
        message: (outcome != Outcome::Admitted)
            .then(|| format!("failed to verify image {repo}: {}", reason.summary())),
        checks: serde_json::Value::Array(Vec::new()),
        remediation: Vec::new(),
        keys: vec![keys[(r % keys.len() as u64) as usize].clone()],
        observed_at,
    }
}

async fn load(pool: &PgPool, args: &PagesArgs) -> anyhow::Result<()> {
    let keys: Vec<String> = sqlx::query_scalar("SELECT fingerprint FROM keys ORDER BY name")
        .fetch_all(pool)
        .await?;
    if keys.is_empty() {
        bail!("no keys in the database: run `trustwatch demo` first (scripts/bench pages does)");
    }
    let keys: Vec<KeyFingerprint> = keys
        .iter()
        .map(|k| KeyFingerprint::parse(k))
        .collect::<Result<_, _>>()?;
    let actor = service::Actor {
        label: "bench".into(),
        source_ip: None,
    };
    for t in 0..TEAMS {
        service::teams::set_namespaces(
            pool,
            &actor,
            &format!("team{t}"),
            &[format!("team{t}"), format!("team{t}-jobs")],
        )
        .await?;
    }
    let now = Utc::now();
    let started = Instant::now();
    let n = args.events;
    // Two loaders, one per core; each takes every other batch, so time still moves forward.
    let mut tasks = Vec::new();
    for part in 0..2u64 {
        let (pool, actor, keys) = (pool.clone(), actor.clone(), keys.clone());
        tasks.push(tokio::spawn(async move {
            let mut b = part;
            while b * BATCH < n {
                let events: Vec<VerificationEvent> = (b * BATCH..((b + 1) * BATCH).min(n))
                    .map(|k| verification_event(k, n, now, &keys))
                    .collect();
                let received = events.last().map_or(now, |e| e.observed_at);
                service::ingest::record_verification_events(&pool, &actor, &events, received, true)
                    .await?;
                if b % 200 == 0 {
                    eprintln!("verification events: {} of {n}", b * BATCH);
                }
                b += 2;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let verification_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let m = args.signing_events;
    let mut k = 0;
    while k < m {
        let end = (k + 1000).min(m);
        let recorded_at = now
            - chrono::Duration::milliseconds(
                DAYS * 86_400_000 - (DAYS as u128 * 86_400_000 * k as u128 / m as u128) as i64,
            );
        let events: Vec<SigningEvent> = (k..end)
            .map(|i| {
                let x = mix(i ^ 0x5349_474e);
                let r = x % REPOSITORIES;
                let day = (now - recorded_at).num_days();
                SigningEvent {
                    id: uuid::Uuid::from_u64_pair(0x7477_7369_676e_0000, i),
                    key: keys[(r % keys.len() as u64) as usize].clone(),
                    image: ImageReference::parse(&format!("{}:1.{day}.0", repository(r)))
                        .expect("a valid reference"),
                    digest: digest(r, day),
                    signer_identity: format!(
                        "https://ci.example.com/team{}/pipeline-{}",
                        r % TEAMS,
                        (x >> 16) % IDENTITIES
                    ),
                    signer_host: Some(format!("runner-{}", (x >> 24) % 50)),
                    payload: None,
                    signature: None,
                    claimed_at: Some(recorded_at),
                }
            })
            .collect();
        service::ingest::record_signing_events(pool, &events, recorded_at).await?;
        k = end;
    }
    let signing_secs = started.elapsed().as_secs_f64();
    // What the hourly maintenance would have done by now on a live server.
    let started = Instant::now();
    if n > 0 || m > 0 {
        // The signings just loaded were recorded in the past, before the last maintenance run
        // of the server (which starts first) set the watermark: time to deploy starts over.
        sqlx::query("DELETE FROM rollup_watermarks WHERE name IN ('deployments', 'deploy_times')")
            .execute(pool)
            .await?;
    }
    let rollups = service::rollups::run(pool, Utc::now()).await?;
    let deployments = service::deployments::refresh(pool, Utc::now()).await?;
    println!(
        "deployments: {} digests signed, {} first admissions found",
        deployments.digests_added, deployments.digests_resolved
    );
    println!(
        "rollups: {} hourly rows folded, {} daily rows, {} + {} trend rows written in {:.1} s",
        rollups.folded_rows,
        rollups.daily_rows,
        rollups.trends.admission_rows,
        rollups.trends.reporting_rows,
        started.elapsed().as_secs_f64()
    );
    // A live database's autovacuum has long caught up with rows written over 90 days; right
    // after a bulk load it has not, and its run would land in the middle of the timings (and
    // index-only scans would still visit the heap). Vacuumed here, the timings are those of the
    // steady state.
    let started = Instant::now();
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(pool).await?;
    println!(
        "vacuumed and analyzed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "loaded {n} verification events in {verification_secs:.0} s ({:.0}/s) and {m} signing events in {signing_secs:.0} s",
        n as f64 / verification_secs.max(0.001)
    );
    Ok(())
}

async fn time_pages(settings: &crate::Settings, args: &PagesArgs) -> anyhow::Result<()> {
    let (Some(server), Some(email), Some(password)) = (&args.server, &args.email, &args.password)
    else {
        bail!("timing needs --server, --email and --password (or --load to fill the database)");
    };
    let base = server.trim_end_matches('/').to_owned();
    let pool = super::connect(settings).await?;
    // Real subjects for the detail pages: the newest refusal, a busy digest, a key.
    let (rejection, digest): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT id, digest FROM verification_events
          WHERE outcome <> 'admitted' AND digest IS NOT NULL AND observed_at > now() - interval '2 days'
          ORDER BY observed_at DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .context("no refusal found: load data first")?;
    let fingerprint: String =
        sqlx::query_scalar("SELECT fingerprint FROM keys ORDER BY name LIMIT 1")
            .fetch_one(&pool)
            .await?;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let res = client
        .post(format!("{base}/login"))
        .header("Origin", &base)
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await?;
    if !res.status().is_redirection() && !res.status().is_success() {
        bail!("login failed with {}", res.status());
    }
    let pages: Vec<(&str, String)> = vec![
        ("Overview", "/".into()),
        ("Rejections", "/rejections".into()),
        ("Rejections, 90 days", "/rejections?range=90d".into()),
        (
            "Rejections, image search",
            "/rejections?image=team3%2Fservice-12&range=30d".into(),
        ),
        (
            "Rejections, cluster + reason",
            "/rejections?cluster=bench-prod-9&reason=key_revoked&range=90d".into(),
        ),
        (
            "Rejections, team + outcome",
            "/rejections?team=team7&outcome=warned&range=30d".into(),
        ),
        (
            "Rejections, no match in 90 days",
            "/rejections?cluster=bench-dev-2&reason=unknown_key&engine=trustwatch&range=90d".into(),
        ),
        ("Rejection detail", format!("/rejections/{rejection}")),
        ("Keys", "/keys".into()),
        ("Key page", format!("/keys/{fingerprint}")),
        ("Images, search", "/images?q=team4%2Fservice-1".into()),
        ("Image page", format!("/images/{digest}")),
        ("Trends, 24 h", "/trends?range=24h".into()),
        ("Trends, 7 d", "/trends?range=7d".into()),
        ("Trends, 30 d", "/trends?range=30d".into()),
        ("Trends, 90 d", "/trends?range=90d".into()),
        ("Alerts", "/alerts".into()),
        ("Policies", "/policies".into()),
        ("Audit", "/audit".into()),
    ];
    println!(
        "{:<36} {:>8} {:>8} {:>8} {:>9}",
        "page", "p50 ms", "p95 ms", "max ms", "bytes"
    );
    for (name, path) in pages {
        time_page(&client, &base, name, &path, &[], args.renders).await?;
    }
    // The Trends charts are images the browser fetches after the page, in parallel: the page
    // with all of them is what a reader waits for.
    for range in ["7d", "30d", "90d"] {
        let images: Vec<String> = service::trends::TrendChart::ALL
            .iter()
            .map(|c| format!("/trends/{}.svg?range={range}", c.slug()))
            .collect();
        let name = format!("Trends, {}, with its 7 images", range.replace('d', " d"));
        let path = format!("/trends?range={range}");
        time_page(&client, &base, &name, &path, &images, args.renders).await?;
    }
    Ok(())
}

/// Renders `path` `renders + 2` times (the first two warm caches and are not counted), each time
/// followed by `images` fetched together, and prints the spread.
async fn time_page(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    path: &str,
    images: &[String],
    renders: usize,
) -> anyhow::Result<()> {
    let mut times: Vec<Duration> = Vec::with_capacity(renders + 2);
    let mut bytes = 0;
    let mut status = reqwest::StatusCode::OK;
    for _ in 0..renders + 2 {
        let t0 = Instant::now();
        let res = client.get(format!("{base}{path}")).send().await?;
        status = res.status();
        let body = res.text().await?;
        bytes = body.len();
        let fetched = futures::future::try_join_all(images.iter().map(|image| async move {
            let res = client.get(format!("{base}{image}")).send().await?;
            let status = res.status();
            let len = res.bytes().await?.len();
            anyhow::Ok((status, len))
        }))
        .await?;
        for (s, len) in fetched {
            bytes += len;
            if !s.is_success() {
                status = s;
            }
        }
        times.push(t0.elapsed());
    }
    let mut times: Vec<Duration> = times.split_off(2);
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let note = if status.is_success() {
        String::new()
    } else {
        format!("  (status {status})")
    };
    println!(
        "{name:<36} {:>8.1} {:>8.1} {:>8.1} {bytes:>9}{note}",
        ms(pct(0.5)),
        ms(pct(0.95)),
        ms(*times.last().expect("renders")),
    );
    Ok(())
}
