//! The rejection page's data: one event in full with its check tree and the other refusals of
//! its digest.

use domain::Role;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{browser, spawn_app};

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
