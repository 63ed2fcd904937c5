use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{spawn_app, TestApp};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn reasons(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT image, outcome, reason FROM verification_events ORDER BY image")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn kyverno_policy_reports_are_stored_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let report = fixture("kyverno-policyreport.json");
    let res = app.post_json("/api/v1/policy-reports", &t, &report).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 3, "duplicates": 0, "skipped": 1})
    );
    let res = app.post_json("/api/v1/policy-reports", &t, &report).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 0, "duplicates": 3, "skipped": 1})
    );
    assert_eq!(
        reasons(&app).await,
        vec![
            (
                "registry.example.com/payments/api-init:2.0.0".into(),
                "rejected".into(),
                "signature_invalid".into()
            ),
            (
                "registry.example.com/payments/api-sidecar:0.9.1".into(),
                "rejected".into(),
                "unsigned".into()
            ),
            (
                "registry.example.com/payments/api:1.4.2".into(),
                "admitted".into(),
                "admitted".into()
            ),
        ]
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn cluster_reports_lists_and_openreports(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        fixture("kyverno-clusterpolicyreport-legacy.json"),
        fixture("openreports-report.json"),
    ]});
    let res = app.post_json("/api/v1/policy-reports", &t, &list).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 2);
    let (namespace, kind, outcome, reason): (String, String, String, String) = sqlx::query_as(
        "SELECT namespace, workload_kind, outcome, reason FROM verification_events WHERE engine = 'kyverno' AND outcome = 'error'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (
            namespace.as_str(),
            kind.as_str(),
            outcome.as_str(),
            reason.as_str()
        ),
        ("monitoring", "DaemonSet", "error", "registry_unreachable")
    );
    let digest: Option<String> =
        sqlx::query_scalar("SELECT digest FROM verification_events WHERE namespace = 'web'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(digest.unwrap().starts_with("sha256:8b7a"));

    // Something else entirely is refused and nothing is stored.
    let res = app
        .post_json(
            "/api/v1/policy-reports",
            &t,
            &json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .post_json(
            "/api/v1/policy-reports?cluster=prod-us-1",
            &t,
            &fixture("openreports-report.json"),
        )
        .await;
    assert_eq!(
        res.status(),
        403,
        "a bound token cannot name another cluster"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn policy_controller_denials_are_classified(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-us-1").await;
    let cases = fixture("policy-controller-messages.json");
    let cases = cases.as_array().unwrap();
    let events: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut e = json!({
                "id": uuid::Uuid::now_v7().to_string(), "namespace": "payments",
                "workload": {"kind": "Deployment", "name": "api"}, "message": c["message"],
                "observed_at": chrono::Utc::now().to_rfc3339(),
            });
            if let Some(image) = c.get("image") {
                e["image"] = image.clone();
            }
            e
        })
        .collect();
    let res = app
        .post_json("/api/v1/admission-messages", &t, &json!({"events": events}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    for (case, event) in cases.iter().zip(&events) {
        let (reason, policy, engine): (String, Option<String>, String) = sqlx::query_as(
            "SELECT reason, policy, engine FROM verification_events WHERE id = $1::uuid",
        )
        .bind(event["id"].as_str().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            reason,
            case["reason"].as_str().unwrap(),
            "{}",
            case["message"]
        );
        assert_eq!(policy.as_deref(), case["policy"].as_str());
        assert_eq!(engine, "policy-controller");
    }
    let checks: Value = sqlx::query_scalar(
        "SELECT checks FROM verification_events WHERE reason = 'identity_mismatch'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(checks[0]["actual"]
        .as_str()
        .unwrap()
        .contains("someone/fork"));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn connaisseur_alerts_are_recorded(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("dev-1").await;
    let alert = json!({
        "alert_message": "CONNAISSEUR rejected a request", "priority": "3", "connaisseur_pod_id": "connaisseur-deployment-7d9f",
        "cluster": "dev-1", "namespace": "web", "timestamp": "2026-11-25 10:00:00.123456", "request_id": "3a1b9c",
        "images": "['docker.io/securesystemsengineering/testimage:unsigned']"
    });
    let res = app
        .post_json("/api/v1/connaisseur-alerts", &t, &alert)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 1, "duplicates": 0})
    );
    let res = app
        .post_json("/api/v1/connaisseur-alerts", &t, &alert)
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 0, "duplicates": 1})
    );
    assert_eq!(
        reasons(&app).await,
        vec![(
            "docker.io/securesystemsengineering/testimage:unsigned".into(),
            "rejected".into(),
            "unclassified".into()
        )]
    );
    let res = app
        .post_json(
            "/api/v1/connaisseur-alerts",
            &t,
            &json!({"alert_message": "hello"}),
        )
        .await;
    assert_eq!(res.status(), 422);
}
