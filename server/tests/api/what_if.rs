//! "What if": a key revocation, a compromise since a time or a policy change tried against the
//! admissions recorded over the last days, with nothing stored — through the service, the server
//! function (security and admin only) and the page.

use chrono::{DateTime, Duration, Utc};
use domain::cosign_key::CosignPrivateKey;
use domain::{Digest, ImageReference, Role, SigningEvent};
use serde_json::{json, Value};
use service::policies::impact::{Impact, Verdict};
use service::what_if::{what_if, Change};
use service::ServiceError;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{form, spawn_app, TestApp};

const API_1: &str = "registry.example.com/payments/api:1.0";
const API_2: &str = "registry.example.com/payments/api:2.0";
const FRONTEND: &str = "registry.example.com/web/frontend:1.0";

fn key(seed: u8) -> CosignPrivateKey {
    CosignPrivateKey::from_random_scalar(&[seed; 32]).unwrap()
}

fn digest(image: &str) -> Digest {
    Digest::of(image.as_bytes())
}

/// Keys ci-release (seed 1), security-review (2) and spare (3), which nobody's policy names.
/// Payments must be signed by ci-release; the web team's images only warn without it.
async fn trust_data(app: &TestApp) {
    let actor = service::Actor::cli();
    for (name, seed) in [("ci-release", 1u8), ("security-review", 2), ("spare", 3)] {
        service::keys::import(
            &app.pool,
            &actor,
            &app.publisher,
            &service::keys::KeyImport {
                name: name.into(),
                public_key_pem: key(seed).public_key().to_pem(),
                owner_team: "platform".into(),
                custody: "kms".into(),
                custody_uri: None,
                valid_from: Some(Utc::now() - Duration::days(120)),
                valid_until: None,
                rotation_period_days: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    }
    service::policies::apply(
        &app.pool,
        &actor,
        &app.publisher,
        "\
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: payments-prod}
spec:
  images: [\"registry.example.com/payments/**\"]
  mode: enforce
  authorities: {threshold: 1, keys: [ci-release]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: web-warn}
spec:
  images: [\"registry.example.com/web/**\"]
  mode: warn
  authorities: {threshold: 1, keys: [ci-release]}
",
        service::policies::ApplyOptions::default(),
    )
    .await
    .unwrap();
}

/// A genuine ci-release signature of `image`, recorded by Trustwatch at `at`.
async fn sign(app: &TestApp, image: &str, at: DateTime<Utc>) {
    let reference = ImageReference::parse(image).unwrap();
    let payload = domain::simple_signing::cosign_payload(&reference, &digest(image));
    let event = SigningEvent {
        id: Uuid::now_v7(),
        key: key(1).public_key().fingerprint().clone(),
        signature: Some(key(1).sign(&payload)),
        payload: Some(payload),
        image: reference,
        digest: digest(image),
        signer_identity: "ci/release".into(),
        signer_host: None,
        claimed_at: None,
    };
    service::ingest::record_signing_events(&app.pool, &[event], at)
        .await
        .unwrap();
}

/// `times` admissions of `image` in the cluster of `token`, namespace `namespace`, half an hour
/// ago.
async fn admit(app: &TestApp, token: &str, image: &str, namespace: &str, times: usize) {
    let at = (Utc::now() - Duration::minutes(30)).to_rfc3339();
    let events: Vec<Value> = (0..times)
        .map(|_| {
            json!({
                "id": Uuid::now_v7().to_string(), "namespace": namespace,
                "workload": {"kind": "Deployment", "name": "app"}, "image": image,
                "digest": digest(image).as_str(), "outcome": "admitted", "reason": "admitted",
                "engine": "kyverno", "observed_at": at,
            })
        })
        .collect();
    let res = app
        .post_json(
            "/api/v1/verification-events",
            token,
            &json!({ "events": events }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// The trust data, API_1 signed three days ago and API_2 one day ago, FRONTEND three days ago;
/// admitted 3, 2 and 1 times. Returns when API_2's signature was recorded.
async fn fleet(app: &TestApp) -> DateTime<Utc> {
    trust_data(app).await;
    let api_2_signed = Utc::now() - Duration::days(1);
    sign(app, API_1, Utc::now() - Duration::days(3)).await;
    sign(app, API_2, api_2_signed).await;
    sign(app, FRONTEND, Utc::now() - Duration::days(3)).await;
    let prod = app.cluster_token("prod-eu-1").await;
    admit(app, &prod, API_1, "payments", 3).await;
    admit(app, &prod, API_2, "payments", 2).await;
    admit(app, &prod, FRONTEND, "web", 1).await;
    // The database keeps microseconds; compare with what it stored.
    sqlx::query_scalar("SELECT recorded_at FROM signing_events WHERE digest = $1")
        .bind(digest(API_2).as_str())
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// (image, admissions, now, after) of each change, in the order reported.
fn changes(impact: &Impact) -> Vec<(&str, i64, Verdict, Verdict)> {
    impact
        .changes
        .iter()
        .map(|c| (c.image.as_str(), c.admissions, c.now, c.after))
        .collect()
}

async fn bundle_version(app: &TestApp) -> Option<i64> {
    sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn revoke(key: &str) -> Change {
    Change::RevokeKey { key: key.into() }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn revoking_a_key_refuses_what_it_signed_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    fleet(&app).await;
    let version = bundle_version(&app).await;

    let impact = what_if(&app.pool, &revoke("ci-release"), 7, Utc::now())
        .await
        .unwrap();
    assert_eq!((impact.placements, impact.admissions), (3, 6));
    assert!(!impact.truncated);
    assert_eq!((impact.refused_now, impact.refused_after), (0, 2));
    assert_eq!(
        changes(&impact),
        [
            (API_1, 3, Verdict::Allowed, Verdict::Refused),
            (API_2, 2, Verdict::Allowed, Verdict::Refused),
            (FRONTEND, 1, Verdict::Allowed, Verdict::Warned),
        ],
        "most admissions first; the warn policy only warns"
    );
    let first = &impact.changes[0];
    assert_eq!(first.digest.as_deref(), Some(digest(API_1).as_str()));
    assert_eq!(
        (first.cluster.as_str(), first.namespace.as_str()),
        ("prod-eu-1", "payments")
    );
    assert!(first.newly_refused() && !impact.changes[2].newly_refused());
    assert!(first.summary.contains("revoked"), "{}", first.summary);

    let status: String = sqlx::query_scalar("SELECT status FROM keys WHERE name = 'ci-release'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "active", "nothing is written");
    assert_eq!(bundle_version(&app).await, version, "nothing is published");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_compromise_refuses_only_signatures_recorded_at_or_after_its_time(pool: PgPool) {
    let app = spawn_app(pool).await;
    let api_2_signed = fleet(&app).await;

    let since = |at| Change::CompromiseKey {
        key: "ci-release".into(),
        since: at,
    };
    let two_days_ago = what_if(
        &app.pool,
        &since(Utc::now() - Duration::days(2)),
        7,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        changes(&two_days_ago),
        [(API_2, 2, Verdict::Allowed, Verdict::Refused)],
        "signed three days ago still counts; signed yesterday does not"
    );
    assert!(two_days_ago.changes[0].summary.contains("compromised"));

    let at_the_signature = what_if(&app.pool, &since(api_2_signed), 7, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        changes(&at_the_signature),
        changes(&two_days_ago),
        "at T counts as after"
    );
    let just_after = what_if(
        &app.pool,
        &since(api_2_signed + Duration::microseconds(1)),
        7,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(just_after.changes.is_empty(), "{:?}", changes(&just_after));

    let future = what_if(
        &app.pool,
        &since(Utc::now() + Duration::days(1)),
        7,
        Utc::now(),
    )
    .await;
    assert!(matches!(future, Err(ServiceError::Invalid(m)) if m.starts_with("since:")));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_key_nobody_relies_on_breaks_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    fleet(&app).await;
    let impact = what_if(&app.pool, &revoke("spare"), 7, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (impact.placements, impact.admissions),
        (3, 6),
        "all were judged"
    );
    assert!(impact.changes.is_empty(), "{:?}", changes(&impact));
    assert_eq!((impact.refused_now, impact.refused_after), (0, 0));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn an_unknown_key_or_window_is_refused_clearly(pool: PgPool) {
    let app = spawn_app(pool).await;
    fleet(&app).await;
    let unknown = what_if(&app.pool, &revoke("nobody"), 7, Utc::now()).await;
    assert!(
        matches!(&unknown, Err(ServiceError::NotFound(m)) if m.contains("nobody")),
        "{unknown:?}"
    );
    for days in [0, 31, -1] {
        let res = what_if(&app.pool, &revoke("ci-release"), days, Utc::now()).await;
        assert!(
            matches!(&res, Err(ServiceError::Invalid(m)) if m.starts_with("window_days")),
            "{days}: {res:?}"
        );
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_policy_change_replays_like_the_dry_run(pool: PgPool) {
    let app = spawn_app(pool).await;
    fleet(&app).await;
    // "Require 2 of 3 for payments": only ci-release signed, so every payments image breaks.
    let documents = "\
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: payments-prod}
spec:
  images: [\"registry.example.com/payments/**\"]
  mode: enforce
  authorities: {threshold: 2, keys: [ci-release, security-review, spare]}
";
    let items = domain::policy::parse_documents(documents).unwrap();
    let now = Utc::now();
    let tried = what_if(&app.pool, &Change::Policy(items.clone()), 7, now)
        .await
        .unwrap();
    assert_eq!(
        changes(&tried),
        [
            (API_1, 3, Verdict::Allowed, Verdict::Refused),
            (API_2, 2, Verdict::Allowed, Verdict::Refused),
        ]
    );
    let dry_run = service::policies::impact::impact(&app.pool, &items, 7, now)
        .await
        .unwrap();
    assert_eq!(tried, dry_run, "one replay for both");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn security_sees_what_a_revocation_would_refuse_and_viewers_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    fleet(&app).await;
    let security = app.logged_in("sec@example.com", Role::Security).await;
    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let revoke = form(&[("change", "revoke"), ("key", "ci-release")]);

    let res = app.server_fn(&viewer, "policies/what_if", &revoke).await;
    assert_eq!(res.status(), 403, "a viewer may not ask");

    let res = app.server_fn(&security, "policies/what_if", &revoke).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["change"], "Revoking key ci-release");
    assert_eq!(view["window_days"], 7);
    let refused = view["newly_refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{view}");
    assert_eq!(refused[0]["image"], API_1);
    assert_eq!(refused[0]["digest"], digest(API_1).as_str());
    assert_eq!(refused[0]["digest_short"], &digest(API_1).as_str()[..19]);
    assert_eq!(refused[0]["cluster"], "prod-eu-1");
    assert_eq!(refused[0]["namespace"], "payments");
    assert_eq!(refused[0]["admissions"], 3);
    assert_eq!(refused[1]["image"], API_2);
    assert_eq!(view["other_changes"][0]["image"], FRONTEND);
    assert_eq!(view["other_changes"][0]["after"], "warned");

    let compromise = form(&[
        ("change", "compromise"),
        ("key", "ci-release"),
        (
            "since",
            &(Utc::now() - Duration::days(2))
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
        ),
        ("window_days", "30"),
    ]);
    let res = app
        .server_fn(&security, "policies/what_if", &compromise)
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["window_days"], 30);
    assert_eq!(view["newly_refused"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["newly_refused"][0]["image"], API_2);

    for (body, status, why) in [
        (
            form(&[("change", "compromise"), ("key", "ci-release")]),
            422,
            "no since",
        ),
        (
            form(&[
                ("change", "compromise"),
                ("key", "ci-release"),
                ("since", "yesterday"),
            ]),
            422,
            "since is not a time",
        ),
        (
            form(&[("key", "ci-release"), ("window_days", "31")]),
            422,
            "window too long",
        ),
        (
            form(&[("key", "ci-release"), ("window_days", "x")]),
            422,
            "window not a number",
        ),
        (
            form(&[("change", "delete"), ("key", "ci-release")]),
            422,
            "unknown change",
        ),
        (form(&[("key", "")]), 422, "no key"),
        (form(&[("key", "nobody")]), 404, "unknown key"),
    ] {
        let res = app.server_fn(&security, "policies/what_if", &body).await;
        assert_eq!(res.status(), status, "{why}: {}", res.text().await.unwrap());
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_page_answers_from_its_url_and_the_key_page_links_to_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    fleet(&app).await;
    let security = app.logged_in("sec@example.com", Role::Security).await;
    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;

    let page = security
        .get(app.url("/what-if?change=revoke&key=ci-release"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"would-be-refused\""), "{html}");
    assert!(html.contains(API_1) && html.contains("prod-eu-1"), "{html}");
    assert!(html.contains("id=\"other-changes\""));

    let html = security
        .get(app.url("/what-if?change=revoke&key=spare&days=3"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Nothing recorded in the last 3 days would be refused."),
        "{html}"
    );

    let key_page = |client: reqwest::Client| {
        let url = app.url(&format!(
            "/keys/{}",
            key(1).public_key().fingerprint().as_str()
        ));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = key_page(security.clone()).await;
    assert!(
        html.contains("href=\"/what-if?change=revoke&amp;key=ci-release\""),
        "{html}"
    );
    let html = key_page(viewer.clone()).await;
    assert!(
        !html.contains("/what-if"),
        "only those who may ask see the link"
    );
}
