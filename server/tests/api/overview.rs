//! The Overview's numbers against seeded data with known answers.

use domain::Role;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::spawn_app;

fn refusal(reason: &str, outcome: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(), "namespace": "payments",
        "workload": {"kind": "Deployment", "name": "api"},
        "image": "registry.example.com/payments/api:1.0", "outcome": outcome,
        "reason": if outcome == "admitted" { "admitted" } else { reason }, "engine": "kyverno",
        "observed_at": chrono::Utc::now().to_rfc3339(),
    })
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_overview_counts_reasons_per_cluster_flags_old_bundles_and_lists_open_incidents(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let eu = app.cluster_token("prod-eu-1").await;
    let us = app.cluster_token("prod-us-1").await;
    let mut batch: Vec<Value> = Vec::new();
    batch.extend((0..5).map(|_| refusal("unsigned", "rejected")));
    batch.extend((0..3).map(|_| refusal("key_revoked", "rejected")));
    batch.extend((0..2).map(|_| refusal("threshold_not_met", "warned")));
    batch.extend((0..1).map(|_| refusal("digest_required", "rejected")));
    batch.extend((0..9).map(|_| refusal("", "admitted")));
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &eu,
            &json!({"events": batch}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &us,
            &json!({"events": [refusal("", "admitted")]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let newest: i64 = sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE clusters SET bundle_version = CASE name WHEN 'prod-eu-1' THEN $1 ELSE $1 - 1 END",
    )
    .bind(newest)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO incidents (id, playbook, playbook_version, title, severity, commander, opened_by, playbook_document)
         VALUES ($1, 'key-compromise', '1', 'ci-release key leaked', 'critical', 'sec@example.com', 'sec@example.com', '{}')",
    )
    .bind(uuid::Uuid::new_v4())
    .execute(&pool)
    .await
    .unwrap();

    let viewer = app.logged_in("manager@example.com", Role::Viewer).await;
    let o: Value = app
        .server_fn(&viewer, "overview", "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        o["totals"],
        json!({"admitted": 10, "rejected": 9, "warned": 2, "error": 0})
    );
    assert_eq!(o["newest_bundle"], newest);
    let eu = o["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prod-eu-1")
        .unwrap();
    let us = o["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prod-us-1")
        .unwrap();
    // The three most frequent refusal reasons, most frequent first; the fourth is left out.
    assert_eq!(
        eu["top_reasons"],
        json!([
            ["unsigned", 5],
            ["key_revoked", 3],
            ["threshold_not_met", 2]
        ])
    );
    assert_eq!(us["top_reasons"], json!([]));
    assert_eq!(eu["bundle_behind"], false);
    assert_eq!(us["bundle_behind"], true);
    assert_eq!(o["open_incidents"][0]["title"], "ci-release key leaked");
    assert_eq!(o["open_incidents"][0]["severity"], "critical");

    let html = viewer
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("1 open incident(s)"), "{html}");
    assert!(html.contains(" · behind"), "{html}");
    assert!(
        html.contains("/rejections?cluster=prod-eu-1&amp;reason=unsigned&amp;range=24h"),
        "{html}"
    );
}
