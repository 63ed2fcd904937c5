//! The rejection page's data: one event in full with its check tree and the other refusals of
//! its digest.

use domain::Role;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{browser, spawn_app, urlencode};

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn refusal(id: &str, checks: Value) -> Value {
    json!({
        "id": id, "namespace": "payments", "workload": {"kind": "Deployment", "name": "api"},
        "image": "registry.example.com/payments/api:1.4.2", "digest": D, "outcome": "rejected",
        "reason": "threshold_not_met", "engine": "trustwatch", "policy": "prod-images",
        "message": "No signature from security-review.", "checks": checks,
        "keys": [D], "observed_at": chrono::Utc::now().to_rfc3339(),
    })
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_rejection_shows_its_checks_and_the_other_refusals_of_its_digest(pool: PgPool) {
    let app = spawn_app(pool).await;
    let reporter = app.cluster_token("prod-eu-1").await;
    let tree = json!([{
        "kind": "policy", "subject": "policy prod-images", "passed": false,
        "reason": "threshold_not_met", "detail": "1 of 2 authorities signed",
        "children": [
            {"kind": "authority", "subject": "key ci-release", "passed": true, "detail": "signed"},
            {"kind": "authority", "subject": "key security-review", "passed": false,
             "reason": "threshold_not_met", "detail": "has not signed", "expected": "a signature"}
        ]
    }]);
    let (first, second) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &reporter,
            &json!({"events": [refusal(&first, tree), refusal(&second, json!([{"rule": "x"}]))]}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let viewer = app.logged_in("dev@example.com", Role::Viewer).await;
    let res = app
        .server_fn(&viewer, "rejections/get", &format!("id={first}"))
        .await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["cluster"], "prod-eu-1");
    assert_eq!(r["workload"], "Deployment/api");
    assert_eq!(r["reason"], "threshold_not_met");
    assert_eq!(
        r["reason_summary"],
        domain::ReasonCode::ThresholdNotMet.summary()
    );
    assert_eq!(r["checks"][0]["subject"], "policy prod-images");
    assert_eq!(r["checks"][0]["passed"], false);
    assert_eq!(
        r["checks"][0]["children"][1]["subject"],
        "key security-review"
    );
    assert_eq!(r["checks"][0]["children"][1]["expected"], "a signature");
    assert_eq!(r["raw_checks"], Value::Null);
    assert_eq!(r["related"].as_array().unwrap().len(), 1);
    assert_eq!(r["related"][0]["id"], second.as_str());

    // The page the webhook links to renders it on the server.
    let page = viewer
        .get(app.url(&format!("/rejections/{first}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("key security-review"), "{html}");
    assert!(html.contains("Other refusals of this digest"));

    // Another engine's checks in a shape of their own are shown as they came.
    let res = app
        .server_fn(&viewer, "rejections/get", &format!("id={second}"))
        .await;
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["checks"], json!([]));
    assert!(r["raw_checks"]
        .as_str()
        .unwrap()
        .contains("\"rule\": \"x\""));

    let res = app
        .server_fn(
            &viewer,
            "rejections/get",
            &format!("id={}", uuid::Uuid::now_v7()),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app.server_fn(&viewer, "rejections/get", "id=nope").await;
    assert_eq!(res.status(), 422);
    let res = app
        .server_fn(&browser(), "rejections/get", &format!("id={first}"))
        .await;
    assert_eq!(res.status(), 401, "only people who are logged in");
}

/// A refusal (or, with `outcome`, any outcome) of `image` in `namespace`, observed `age` ago.
fn event(
    image: &str,
    namespace: &str,
    outcome: &str,
    reason: &str,
    age: chrono::Duration,
) -> Value {
    let digest = format!("sha256:{}", hex_of(image));
    json!({
        "id": uuid::Uuid::new_v4().to_string(), "namespace": namespace,
        "workload": {"kind": "Deployment", "name": "api"}, "image": image, "digest": digest,
        "outcome": outcome, "reason": if outcome == "admitted" { "admitted" } else { reason },
        "engine": "kyverno", "observed_at": (chrono::Utc::now() - age).to_rfc3339(),
    })
}

/// A stable 64-hex-digit digest per image, so one image has one digest.
fn hex_of(image: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    image.split(':').next().hash(&mut h);
    format!("{:016x}", h.finish()).repeat(4)
}

/// Walks every page of the list for `query` (form fields of `RejectionQuery`), checking that the
/// order is strictly newest first across pages, and returns the rows.
async fn walk(app: &crate::helpers::TestApp, client: &reqwest::Client, query: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let mut body = query.to_owned();
        if let Some(a) = &after {
            body.push_str(&format!("&query[after]={}", urlencode(a)));
        }
        let res = app.server_fn(client, "rejections/list", &body).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{query}: {text}");
        let page: Value = serde_json::from_str(&text).unwrap();
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => {
                assert_eq!(
                    page["rows"].as_array().unwrap().len(),
                    50,
                    "only a full page has a next one"
                );
                after = Some(n.to_owned());
            }
            None => break,
        }
    }
    let mut ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "no row appears on two pages");
    rows
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_rejections_list_filters_and_pages_by_keyset(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let eu = app.cluster_token("prod-eu-1").await;
    let dev = app.cluster_token("dev-1").await;
    let day = chrono::Duration::days(1);
    let min = chrono::Duration::minutes(1);
    let api = "registry.example.com/payments/api";
    let web = "registry.example.com/web/frontend";

    // prod-eu-1: 120 refusals of payments/api (two tags), 20 admissions, 5 refusals 10 days old.
    let mut batch = Vec::new();
    for i in 0..120 {
        let tag = if i % 2 == 0 { "1.0" } else { "2.0" };
        // Pairs share a timestamp: the keyset must break ties by id.
        batch.push(event(
            &format!("{api}:{tag}"),
            "payments",
            "rejected",
            "unsigned",
            min * (i / 2),
        ));
    }
    for i in 0..20 {
        batch.push(event(
            &format!("{api}:1.0"),
            "payments",
            "admitted",
            "",
            min * i,
        ));
    }
    for i in 0..5 {
        batch.push(event(
            &format!("{api}:0.9"),
            "payments",
            "rejected",
            "key_revoked",
            day * 10 + min * i,
        ));
    }
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &eu,
            &json!({"events": batch}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // dev-1: 30 warnings about web/frontend.
    let batch: Vec<Value> = (0..30)
        .map(|i| {
            event(
                &format!("{web}:3.1"),
                "web",
                "warned",
                "threshold_not_met",
                min * i,
            )
        })
        .collect();
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &dev,
            &json!({"events": batch}),
        )
        .await;
    assert_eq!(res.status(), 200);
    sqlx::query("UPDATE clusters SET environment = CASE name WHEN 'dev-1' THEN 'development' ELSE 'production' END")
        .execute(&pool)
        .await
        .unwrap();

    let viewer = app.logged_in("dev@example.com", Role::Viewer).await;
    // Everything of the last 7 days that was not admitted, newest first, over four pages.
    let all = walk(&app, &viewer, "query[range]=7d").await;
    assert_eq!(all.len(), 150);
    assert!(all.iter().all(|r| r["outcome"] != "admitted"));
    // The ten-day-old refusals are in the 30-day range only.
    assert_eq!(walk(&app, &viewer, "query[range]=30d").await.len(), 155);
    // Default range is 7 days.
    assert_eq!(walk(&app, &viewer, "").await.len(), 150);

    // Image: a substring of the repository, then narrowed by a tag, then a digest.
    let rows = walk(&app, &viewer, "query[image]=payments%2Fap").await;
    assert_eq!(rows.len(), 120);
    assert!(rows
        .iter()
        .all(|r| r["image"].as_str().unwrap().starts_with(api)));
    assert_eq!(
        walk(&app, &viewer, "query[image]=payments%2Fapi%3A2.0")
            .await
            .len(),
        60
    );
    let digest = format!("sha256:{}", hex_of(web));
    assert_eq!(
        walk(
            &app,
            &viewer,
            &format!("query[image]={}", urlencode(&digest))
        )
        .await
        .len(),
        30
    );
    assert_eq!(
        walk(&app, &viewer, "query[image]=nothing-like-this")
            .await
            .len(),
        0
    );

    // Cluster, environment, outcome, reason, engine.
    assert_eq!(walk(&app, &viewer, "query[cluster]=dev-1").await.len(), 30);
    assert_eq!(
        walk(&app, &viewer, "query[environment]=production")
            .await
            .len(),
        120
    );
    assert_eq!(walk(&app, &viewer, "query[outcome]=warned").await.len(), 30);
    assert_eq!(
        walk(&app, &viewer, "query[reason]=key_revoked&query[range]=30d")
            .await
            .len(),
        5
    );
    assert_eq!(
        walk(&app, &viewer, "query[engine]=trustwatch").await.len(),
        0
    );
    assert_eq!(
        walk(&app, &viewer, "query[cluster]=dev-1&query[reason]=unsigned")
            .await
            .len(),
        0
    );

    // Team: namespaces set by an admin token through the API, then filtered on.
    let admin = app
        .token("gitops", &[domain::TokenScope::Admin], None, false)
        .await;
    let res = reqwest::Client::new()
        .put(app.url("/api/v1/teams/payments-team"))
        .bearer_auth(&admin)
        .json(&json!({"namespaces": ["payments"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let teams: Value = res.json().await.unwrap();
    assert_eq!(teams, json!({"payments-team": ["payments"]}));
    assert!(app.has_audit("team.namespaces_set", "payments-team").await);
    assert_eq!(
        walk(&app, &viewer, "query[team]=payments-team").await.len(),
        120
    );
    assert_eq!(
        walk(
            &app,
            &viewer,
            "query[team]=payments-team&query[namespace]=web"
        )
        .await
        .len(),
        0
    );
    let reporter_cannot = reqwest::Client::new()
        .put(app.url("/api/v1/teams/x"))
        .bearer_auth(&eu)
        .json(&json!({"namespaces": ["web"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reporter_cannot.status(), 403, "only admin tokens set teams");

    // Bad input is refused plainly; nobody without a session reads anything.
    let res = app
        .server_fn(&viewer, "rejections/list", "query[range]=1y")
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .server_fn(&viewer, "rejections/list", "query[after]=broken")
        .await;
    assert_eq!(res.status(), 422);
    let res = app.server_fn(&browser(), "rejections/list", "").await;
    assert_eq!(res.status(), 401);

    // The page renders on the server with the filter applied and links each row.
    let html = viewer
        .get(app.url("/rejections?cluster=dev-1&reason=threshold_not_met"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("30 rejections in the last 7 days"), "{html}");
    assert!(html.contains("href=\"/rejections/"), "{html}");
    assert!(!html.contains("payments/api"), "filtered out");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_refusal_shows_the_recorded_fix_and_is_judged_again_now(pool: PgPool) {
    let app = spawn_app(pool).await;
    let reporter = app.cluster_token("prod-eu-1").await;
    let id = uuid::Uuid::now_v7().to_string();
    let mut e = refusal(&id, json!([]));
    e["remediation"] = json!([format!(
        "trustwatch sign --key ci-release.key registry.example.com/payments/api@{D}"
    )]);
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &reporter,
            &json!({"events": [e]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let viewer = app.logged_in("dev@example.com", Role::Viewer).await;
    let r: Value = app
        .server_fn(&viewer, "rejections/get", &format!("id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["remediation"],
        json!([format!(
            "trustwatch sign --key ci-release.key registry.example.com/payments/api@{D}"
        )])
    );
    // Judged again against the bundle published at start-up (no policies, default action).
    let now = &r["now"];
    assert!(now["bundle_version"].as_u64().unwrap() >= 1, "{now}");
    assert!(
        now["summary"].as_str().is_some_and(|s| !s.is_empty()),
        "{now}"
    );

    // A multi-line step is refused, with the field named, and nothing of the batch is stored.
    let mut bad = refusal(&uuid::Uuid::now_v7().to_string(), json!([]));
    bad["remediation"] = json!(["one\ntwo"]);
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &reporter,
            &json!({"events": [bad]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("remediation[0]"), "{body}");
}
