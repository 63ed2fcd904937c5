//! Alerts: each rule over real rows at a fixed `now`, fires with its numbers and stays quiet on a
//! normal stream; a condition raises one alert however often it is evaluated; acknowledging is
//! for security and admin, audited; new alerts reach webhooks, a failing one after a retry.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Timelike, Utc};
use domain::Role;
use secrecy::SecretString;
use serde_json::Value;
use service::alerts::{AlertConfig, AlertFilter, Webhook, Webhooks};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::spawn_app;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 30, 0).unwrap()
}

fn fp(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn config() -> AlertConfig {
    AlertConfig {
        stale_after: TimeDelta::minutes(15),
        webhooks: Webhooks::default(),
    }
}

fn system() -> service::Actor {
    service::Actor {
        label: "server".into(),
        source_ip: None,
    }
}

async fn key(
    pool: &PgPool,
    name: &str,
    fingerprint: &str,
    status: &str,
    compromised_since: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
) {
    sqlx::query(
        "INSERT INTO keys (id, name, fingerprint, algorithm, public_key_pem, owner_team, custody,
                           status, valid_from, compromised_since, revoked_at)
         VALUES ($1, $2, $3, 'ecdsa-p256', 'test', 'platform', 'kms', $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(fingerprint)
    .bind(status)
    .bind(now() - TimeDelta::days(400))
    .bind(compromised_since)
    .bind(revoked_at)
    .execute(pool)
    .await
    .unwrap();
}

async fn signing(pool: &PgPool, key: &str, identity: &str, host: &str, at: DateTime<Utc>) {
    let digest = format!("sha256:{:064x}", rand_u64());
    signing_of(pool, key, &digest, identity, host, at).await;
}

async fn signing_of(
    pool: &PgPool,
    key: &str,
    digest: &str,
    identity: &str,
    host: &str,
    at: DateTime<Utc>,
) {
    sqlx::query(
        "INSERT INTO signing_events (id, key_fingerprint, image, repository, digest,
                                     signer_identity, signer_host, recorded_at)
         VALUES ($1, $2, 'registry.example.com/payments/worker:1.2',
                 'registry.example.com/payments/worker', $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(key)
    .bind(digest)
    .bind(identity)
    .bind(host)
    .bind(at)
    .execute(pool)
    .await
    .unwrap();
}

fn rand_u64() -> u64 {
    Uuid::new_v4().as_u64_pair().0
}

async fn cluster(
    pool: &PgPool,
    name: &str,
    last_report_at: Option<DateTime<Utc>>,
    bundle_version: Option<i64>,
) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO clusters (id, name, registered_at, last_report_at, bundle_version)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(now() - TimeDelta::days(60))
    .bind(last_report_at)
    .bind(bundle_version)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn hourly(pool: &PgPool, cluster: Uuid, hour: DateTime<Utc>, admitted: i64, rejected: i64) {
    for (outcome, reason, n) in [
        ("admitted", "admitted", admitted),
        ("rejected", "unsigned", rejected),
    ] {
        sqlx::query(
            "INSERT INTO verification_hourly (hour, cluster_id, outcome, reason, engine, events)
             VALUES ($1, $2, $3, $4, 'kyverno', $5)",
        )
        .bind(hour)
        .bind(cluster)
        .bind(outcome)
        .bind(reason)
        .bind(n)
        .execute(pool)
        .await
        .unwrap();
    }
}

async fn alerts(pool: &PgPool) -> Vec<service::alerts::Alert> {
    service::alerts::list(
        pool,
        &AlertFilter {
            limit: 100,
            ..AlertFilter::default()
        },
    )
    .await
    .unwrap()
}

fn only<'a>(all: &'a [service::alerts::Alert], rule: &str) -> Vec<&'a service::alerts::Alert> {
    all.iter().filter(|a| a.rule == rule).collect()
}

/// 28 days of office-hours signing (09:05 to 16:05 UTC, one an hour) from the release pipeline.
async fn office_hours_history(pool: &PgPool, key: &str) {
    for day in 1..=28 {
        for hour in 9..=16 {
            let at = (now() - TimeDelta::days(day))
                .with_hour(hour)
                .and_then(|t| t.with_minute(5))
                .unwrap();
            signing(
                pool,
                key,
                &format!("gitlab-ci/platform/release#{}", day * 100 + i64::from(hour)),
                "runner-1.ci.internal",
                at,
            )
            .await;
        }
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn signing_rules_fire_with_their_numbers_and_not_on_a_normal_stream(pool: PgPool) {
    let app = spawn_app(pool).await;
    let ci = fp('a');
    key(&app.pool, "ci-release", &ci, "active", None, None).await;
    office_hours_history(&app.pool, &ci).await;

    let report = service::alerts::evaluate_now(&app.pool, &system(), &config(), now())
        .await
        .unwrap();
    assert_eq!(
        report.raised,
        0,
        "a normal stream: {:#?}",
        alerts(&app.pool).await
    );

    // At 03:10, someone signs by hand from an address nobody knows; from noon, a burst.
    signing(
        &app.pool,
        &ci,
        "unknown/manual",
        "203.0.113.77",
        now().with_hour(3).and_then(|t| t.with_minute(10)).unwrap(),
    )
    .await;
    for minute in 0..12 {
        signing(
            &app.pool,
            &ci,
            &format!("gitlab-ci/platform/release#{}", 9000 + minute),
            "runner-1.ci.internal",
            now() - TimeDelta::minutes(25) + TimeDelta::minutes(minute),
        )
        .await;
    }
    let report = service::alerts::evaluate_now(&app.pool, &system(), &config(), now())
        .await
        .unwrap();
    let all = alerts(&app.pool).await;
    assert_eq!(report.raised, 4, "{all:#?}");

    let new_signer = only(&all, "new_signer");
    assert_eq!(new_signer.len(), 2, "a new identity and a new host");
    let identity = new_signer
        .iter()
        .find(|a| a.facts["new"] == "identity")
        .expect("identity alert");
    assert_eq!(identity.facts["value"], "unknown/manual");
    // The window starts at 2026-11-24 12:00: 8 a day for 28 days, minus the last day's five
    // from 12:05 to 16:05.
    assert_eq!(identity.facts["earlier_signatures"], 28 * 8 - 5);
    assert_eq!(identity.subject, ci);
    assert_eq!(identity.subject_label, "ci-release");
    assert!(
        identity.summary.contains("\"unknown/manual\""),
        "{}",
        identity.summary
    );
    assert!(new_signer
        .iter()
        .any(|a| a.facts["new"] == "host" && a.facts["value"] == "203.0.113.77"));

    let off = only(&all, "off_hours_signing");
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].facts["hour_utc"], 3);
    assert_eq!(off[0].facts["signatures_in_hour"], 1);
    assert_eq!(off[0].facts["baseline_within_an_hour"], 0);
    // The 28 days before the window (2026-10-27 12:00 to 2026-11-24 12:00): all of the oldest
    // day's eight, 26 full days, and the three of the 24th before 12:00.
    assert_eq!(off[0].facts["baseline_signatures"], 8 + 26 * 8 + 3);
    assert!(
        off[0].summary.contains("usual hours: 09–16 UTC"),
        "{}",
        off[0].summary
    );

    let spike = only(&all, "signing_volume_spike");
    assert_eq!(spike.len(), 1);
    assert_eq!(spike[0].facts["last_hour"], 12);
    // 2026-11-11 11:30 to 2026-11-25 11:30: five on the 11th (12:05 to 16:05), 13 full days,
    // and the manual signature at 03:10.
    assert_eq!(spike[0].facts["baseline_signatures"], 5 + 13 * 8 + 1);
    assert_eq!(spike[0].facts["baseline_busiest_hour"], 1);
    assert!(
        spike[0].summary.contains("12 signatures in the last hour"),
        "{}",
        spike[0].summary
    );

    // The same conditions a minute later and an hour later: no new alert, last seen moves on.
    let again = service::alerts::evaluate_now(
        &app.pool,
        &system(),
        &config(),
        now() + TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(again.raised, 0);
    assert_eq!(again.updated, 4);
    let after = alerts(&app.pool).await;
    assert_eq!(after.len(), 4);
    let spike = only(&after, "signing_volume_spike");
    assert_eq!(spike[0].last_seen_at, now() + TimeDelta::minutes(1));
    assert_eq!(spike[0].first_seen_at, now());
    let raised = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "alert.raised")
        .count();
    assert_eq!(raised, 4, "each alert is audited once, when raised");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn any_use_of_a_compromised_key_fires_revoked_and_active_keys_otherwise_quiet(pool: PgPool) {
    let app = spawn_app(pool).await;
    let legacy = fp('b');
    let retired = fp('c');
    let active = fp('d');
    key(
        &app.pool,
        "payments-legacy",
        &legacy,
        "compromised",
        Some(now() - TimeDelta::days(2)),
        None,
    )
    .await;
    key(
        &app.pool,
        "web-2024",
        &retired,
        "revoked",
        None,
        Some(now() - TimeDelta::days(10)),
    )
    .await;
    key(&app.pool, "ci-release", &active, "active", None, None).await;
    // Before the compromise: legitimate. After: the alert.
    signing(
        &app.pool,
        &legacy,
        "gitlab-ci/payments/worker/release#1",
        "runner-1",
        now() - TimeDelta::days(3),
    )
    .await;
    let forged = format!("sha256:{}", "f".repeat(64));
    signing_of(
        &app.pool,
        &legacy,
        &forged,
        "unknown/manual",
        "203.0.113.77",
        now() - TimeDelta::days(1),
    )
    .await;
    signing(
        &app.pool,
        &active,
        "gitlab-ci/platform/release#2",
        "runner-1",
        now() - TimeDelta::hours(2),
    )
    .await;
    // A cluster admitted the forged image on the strength of the compromised key.
    let prod = cluster(&app.pool, "prod-eu-1", Some(now()), None).await;
    sqlx::query(
        "INSERT INTO verification_events (id, cluster_id, namespace, workload_kind, workload_name,
                                          image, repository, digest, outcome, reason, engine,
                                          key_fingerprints, observed_at)
         VALUES ($1, $2, 'payments', 'Deployment', 'worker',
                 'registry.example.com/payments/worker:1.2', 'registry.example.com/payments/worker',
                 $5, 'admitted', 'admitted', 'kyverno', ARRAY[$3], $4)",
    )
    .bind(Uuid::now_v7())
    .bind(prod)
    .bind(&legacy)
    .bind(now() - TimeDelta::days(1) + TimeDelta::hours(1))
    .bind(&forged)
    .execute(&app.pool)
    .await
    .unwrap();

    service::alerts::evaluate_now(&app.pool, &system(), &config(), now())
        .await
        .unwrap();
    let all = alerts(&app.pool).await;
    let used = only(&all, "revoked_key_use");
    assert_eq!(used.len(), 1, "{all:#?}");
    let a = used[0];
    assert_eq!(a.severity, "critical");
    assert_eq!(a.subject, legacy);
    assert_eq!(a.facts["signatures"], 1);
    assert_eq!(a.facts["admissions"], 1);
    assert_eq!(a.facts["clusters"][0], "prod-eu-1");
    assert_eq!(a.facts["signer_hosts"][0], "203.0.113.77");
    assert!(
        a.summary
            .starts_with("Key payments-legacy is compromised since 2026-11-23 12:30 UTC"),
        "{}",
        a.summary
    );
    assert!(
        a.summary.contains("let 1 admission through in prod-eu-1"),
        "{}",
        a.summary
    );
    // The key page lists a key's alerts.
    let of_key = service::alerts::list(
        &app.pool,
        &AlertFilter {
            key_fingerprint: Some(legacy.clone()),
            limit: 10,
            ..AlertFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(of_key.len(), 1);
    // …and so does the key page itself.
    let viewer = app.logged_in("viewer@example.org", Role::Viewer).await;
    let page: serde_json::Value = app
        .server_fn(
            &viewer,
            "keys/get",
            &format!("fingerprint={}", legacy.replace(':', "%3A")),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["alerts"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["alerts"][0]["severity"], "critical");
    let of_active = service::alerts::list(
        &app.pool,
        &AlertFilter {
            key_fingerprint: Some(active),
            limit: 10,
            ..AlertFilter::default()
        },
    )
    .await
    .unwrap();
    assert!(of_active.is_empty(), "{of_active:#?}");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn cluster_rules_fire_on_rejection_jumps_silence_and_old_bundles(pool: PgPool) {
    let app = spawn_app(pool).await;
    let hour = |ago: i64| {
        let h = now().with_minute(0).unwrap() - TimeDelta::hours(ago);
        h.with_second(0).unwrap()
    };
    // A newer bundle than the one the server published at start, two hours before `now`.
    let newest: i64 = sqlx::query_scalar(
        "INSERT INTO trust_bundles (version, issued_at, expires_at, document, digest, signature,
                                    key_fingerprint, default_action, published_by, reason)
         SELECT coalesce(max(version), 0) + 1, $1, $1 + interval '7 days', '{}', $2, 'x', $3,
                'deny', 'test', 'a newer bundle'
           FROM trust_bundles RETURNING version",
    )
    .bind(now() - TimeDelta::hours(2))
    .bind("e".repeat(64))
    .bind(fp('e'))
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let steady = cluster(
        &app.pool,
        "prod-eu-1",
        Some(now() - TimeDelta::minutes(2)),
        Some(newest),
    )
    .await;
    let storm = cluster(
        &app.pool,
        "prod-us-1",
        Some(now() - TimeDelta::minutes(1)),
        Some(newest - 1),
    )
    .await;
    let tiny = cluster(
        &app.pool,
        "dev-1",
        Some(now() - TimeDelta::minutes(3)),
        None,
    )
    .await;
    cluster(
        &app.pool,
        "edge-ap-1",
        Some(now() - TimeDelta::hours(7)),
        Some(newest),
    )
    .await;
    for day in 1..=7 {
        hourly(&app.pool, steady, hour(24 * day), 90, 10).await;
        hourly(&app.pool, storm, hour(24 * day), 90, 10).await;
        hourly(&app.pool, tiny, hour(24 * day), 9, 1).await;
    }
    // The last hour: steady as usual, a storm in prod-us-1, one refusal of two in dev-1.
    hourly(&app.pool, steady, hour(0), 45, 5).await;
    hourly(&app.pool, storm, hour(1), 20, 10).await;
    hourly(&app.pool, storm, hour(0), 10, 20).await;
    hourly(&app.pool, tiny, hour(0), 1, 1).await;

    service::alerts::evaluate_now(&app.pool, &system(), &config(), now())
        .await
        .unwrap();
    let all = alerts(&app.pool).await;

    let jumps = only(&all, "rejection_rate_jump");
    assert_eq!(jumps.len(), 1, "{all:#?}");
    assert_eq!(jumps[0].subject, "prod-us-1");
    assert_eq!(jumps[0].facts["recent_admissions"], 60);
    assert_eq!(jumps[0].facts["recent_refusals"], 30);
    assert_eq!(jumps[0].facts["baseline_admissions"], 700);
    assert_eq!(jumps[0].facts["baseline_refusals"], 70);
    assert!(
        jumps[0]
            .summary
            .contains("refused 30 of 60 admissions (50.0 %) since 2026-11-25 11:00 UTC"),
        "{}",
        jumps[0].summary
    );

    let silent = only(&all, "cluster_silent");
    assert_eq!(silent.len(), 1, "{all:#?}");
    assert_eq!(silent[0].subject, "edge-ap-1");
    assert_eq!(silent[0].facts["silent_seconds"], 7 * 3600);
    assert!(
        silent[0].summary.contains("has not reported for 7 h"),
        "{}",
        silent[0].summary
    );

    let behind = only(&all, "trust_bundle_behind");
    assert_eq!(behind.len(), 1, "{all:#?}");
    assert_eq!(behind[0].subject, "prod-us-1");
    assert_eq!(behind[0].facts["running_version"], newest - 1);
    assert_eq!(behind[0].facts["newest_version"], newest);
    assert_eq!(behind[0].facts["behind_seconds"], 2 * 3600);
    assert_eq!(all.len(), 3);
    assert_eq!(service::alerts::count_open(&app.pool).await.unwrap(), 3);

    let token = app
        .token("prometheus", &[domain::TokenScope::Read], None, false)
        .await;
    let metrics = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "trustwatch_alerts_open{rule=\"cluster_silent\"} 1",
        "trustwatch_alerts_open{rule=\"rejection_rate_jump\"} 1",
        "trustwatch_alerts_open{rule=\"revoked_key_use\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn only_security_and_admin_acknowledge_and_it_is_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    cluster(
        &app.pool,
        "edge-ap-1",
        Some(now() - TimeDelta::hours(7)),
        None,
    )
    .await;
    for _ in 0..2 {
        service::alerts::evaluate_now(&app.pool, &system(), &config(), now())
            .await
            .unwrap();
    }
    let all = alerts(&app.pool).await;
    assert_eq!(all.len(), 1, "evaluating twice raises one alert: {all:#?}");
    let id = all[0].id;
    let body = format!("id={id}&note=edge%20cluster%20is%20being%20rebuilt");

    for (email, role) in [
        ("viewer@example.com", Role::Viewer),
        ("dev@example.com", Role::Developer),
        ("auditor@example.com", Role::Auditor),
    ] {
        let client = app.logged_in(email, role).await;
        let res = app.server_fn(&client, "alerts/acknowledge", &body).await;
        assert_eq!(res.status(), 403, "{role:?} may not acknowledge");
        // Everyone may read.
        let res = app.server_fn(&client, "alerts/list", "").await;
        assert_eq!(res.status(), 200);
        let view: Value = res.json().await.unwrap();
        assert_eq!(view["can_acknowledge"], false);
        assert_eq!(view["open"].as_array().unwrap().len(), 1);
    }
    assert!(alerts(&app.pool).await[0].acknowledged_at.is_none());
    assert!(
        !app.has_audit("alert.acknowledged", &format!("alert:{id}"))
            .await
    );

    let security = app.logged_in("sec@example.com", Role::Security).await;
    let res = app.server_fn(&security, "alerts/acknowledge", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let a = &alerts(&app.pool).await[0];
    assert_eq!(a.acknowledged_by.as_deref(), Some("user:sec@example.com"));
    assert_eq!(
        a.acknowledge_note.as_deref(),
        Some("edge cluster is being rebuilt")
    );
    let audit = app.audit_actions().await;
    let entry = audit
        .iter()
        .find(|(action, target, _)| {
            action == "alert.acknowledged" && *target == format!("alert:{id}")
        })
        .expect("audited");
    assert_eq!(entry.2["note"], "edge cluster is being rebuilt");
    assert_eq!(entry.2["rule"], "cluster_silent");

    let res = app.server_fn(&security, "alerts/acknowledge", &body).await;
    assert_eq!(res.status(), 409, "the first acknowledgement stands");
    let res = app
        .server_fn(&security, "alerts/acknowledge", "id=not-an-id")
        .await;
    assert_eq!(res.status(), 422);

    let res = app
        .server_fn(&security, "alerts/list", "state=acknowledged")
        .await;
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["can_acknowledge"], true);
    assert!(view["open"].as_array().unwrap().is_empty());
    assert_eq!(
        view["acknowledged"][0]["acknowledged"]["by"],
        "sec@example.com"
    );
    // Narrowed to a cluster, as the subject's link does.
    for (filter, expected) in [("cluster=edge-ap-1", 1), ("cluster=prod-eu-1", 0)] {
        let res = app.server_fn(&security, "alerts/list", filter).await;
        let view: Value = res.json().await.unwrap();
        let n =
            view["open"].as_array().unwrap().len() + view["acknowledged"].as_array().unwrap().len();
        assert_eq!(n, expected, "{filter}");
    }

    // Still silent a minute later: the acknowledged alert is updated, not raised again.
    let report = service::alerts::evaluate_now(
        &app.pool,
        &system(),
        &config(),
        now() + TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(report.raised, 0);
    assert_eq!(service::alerts::count_open(&app.pool).await.unwrap(), 0);
}

/// One request a webhook received: its Trustwatch headers and body.
pub(crate) struct Received {
    pub(crate) alert: String,
    pub(crate) timestamp: String,
    pub(crate) signature: String,
    pub(crate) body: Vec<u8>,
}

#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub(crate) requests: Arc<Mutex<Vec<Received>>>,
    /// Answers 503 to this many requests first.
    failures_left: Arc<Mutex<u32>>,
}

/// A webhook on a free port that records what it receives (shared with the incident tests).
pub(crate) async fn receiver(failures: u32) -> (String, Receiver) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    let state = Receiver {
        failures_left: Arc::new(Mutex::new(failures)),
        ..Receiver::default()
    };
    async fn hook(
        State(r): State<Receiver>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        r.requests.lock().unwrap().push(Received {
            alert: h("x-trustwatch-alert"),
            timestamp: h("x-trustwatch-timestamp"),
            signature: h("x-trustwatch-signature"),
            body: body.to_vec(),
        });
        let mut left = r.failures_left.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::NO_CONTENT
        }
    }
    let app = axum::Router::new()
        .route("/hooks/secret-token", axum::routing::post(hook))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hooks/secret-token"), state)
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn new_alerts_reach_webhooks_once_and_a_failing_one_after_a_retry(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (good_url, good) = receiver(0).await;
    let (flaky_url, flaky) = receiver(1).await;
    let secret = SecretString::from("webhook-shared-secret");
    let config = AlertConfig {
        stale_after: TimeDelta::minutes(15),
        webhooks: Webhooks {
            targets: vec![
                Webhook::parse(&good_url).unwrap(),
                Webhook::parse(&flaky_url).unwrap(),
            ],
            secret: Some(secret.clone()),
            public_url: Some("https://trustwatch.example.com".into()),
        },
    };
    cluster(
        &app.pool,
        "edge-ap-1",
        Some(now() - TimeDelta::hours(7)),
        None,
    )
    .await;
    service::alerts::evaluate_now(&app.pool, &system(), &config, now())
        .await
        .unwrap();
    let alert = alerts(&app.pool).await.remove(0);
    let stored: Vec<String> = sqlx::query_scalar("SELECT webhook_origin FROM alert_deliveries")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored.iter().all(|o| !o.contains("secret-token")),
        "webhook URLs are not stored: {stored:?}"
    );

    let client = reqwest::Client::new();
    let first = service::alerts::deliver_due(&app.pool, &client, &config.webhooks, now())
        .await
        .unwrap();
    assert_eq!((first.delivered, first.retrying, first.failed), (1, 1, 0));
    {
        let got = good.requests.lock().unwrap();
        assert_eq!(got.len(), 1);
        let r = &got[0];
        assert_eq!(r.alert, alert.id.to_string());
        let ts: i64 = r.timestamp.parse().unwrap();
        assert_eq!(r.signature, service::alerts::sign(&secret, ts, &r.body));
        let json: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(json["rule"], "cluster_silent");
        assert_eq!(json["subject"]["id"], "edge-ap-1");
        assert_eq!(json["facts"]["silent_seconds"], 7 * 3600);
        assert_eq!(json["summary"], alert.summary);
        assert_eq!(
            json["url"],
            "https://trustwatch.example.com/alerts?rule=cluster_silent"
        );
    }
    assert_eq!(flaky.requests.lock().unwrap().len(), 1);
    let (attempts, next, error): (i32, DateTime<Utc>, Option<String>) = sqlx::query_as(
        "SELECT attempts, next_attempt_at, last_error FROM alert_deliveries WHERE state = 'pending'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(
        next,
        now() + TimeDelta::seconds(30),
        "backoff after one failure"
    );
    let error = error.unwrap();
    assert!(error.contains("503"), "{error}");
    assert!(!error.contains("secret-token"), "{error}");

    // Not before the backoff has passed; then once; then never again.
    let early = service::alerts::deliver_due(
        &app.pool,
        &client,
        &config.webhooks,
        now() + TimeDelta::seconds(10),
    )
    .await
    .unwrap();
    assert_eq!(early, service::alerts::DeliveryReport::default());
    let retry = service::alerts::deliver_due(
        &app.pool,
        &client,
        &config.webhooks,
        now() + TimeDelta::seconds(31),
    )
    .await
    .unwrap();
    assert_eq!(retry.delivered, 1);
    // Evaluating again (the same silence) and sending again later sends nothing new.
    service::alerts::evaluate_now(&app.pool, &system(), &config, now() + TimeDelta::minutes(5))
        .await
        .unwrap();
    let later = service::alerts::deliver_due(
        &app.pool,
        &client,
        &config.webhooks,
        now() + TimeDelta::hours(2),
    )
    .await
    .unwrap();
    assert_eq!(later, service::alerts::DeliveryReport::default());
    assert_eq!(good.requests.lock().unwrap().len(), 1);
    assert_eq!(flaky.requests.lock().unwrap().len(), 2);
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(delivered, 2);
    let shown = service::alerts::deliveries(&app.pool, &[alert.id])
        .await
        .unwrap();
    assert_eq!(shown.len(), 2);
    assert!(shown
        .iter()
        .all(|d| d.state == "delivered" && d.webhook_origin.starts_with("http://127.0.0.1:")));
    assert_eq!(shown.iter().map(|d| d.attempts).sum::<i32>(), 3);
}
