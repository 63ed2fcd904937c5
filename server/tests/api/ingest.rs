use domain::TokenScope;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{spawn_app, TestApp};

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn event(id: &str, cluster: Option<&str>) -> Value {
    let mut e = json!({
        "id": id, "namespace": "payments", "workload": {"kind": "Deployment", "name": "api"},
        "image": "registry.example.com/payments/api:1.4.2", "digest": D, "outcome": "rejected",
        "reason": "unsigned", "engine": "kyverno", "policy": "require-signed", "message": "raw text",
        "checks": [], "keys": [D], "observed_at": chrono::Utc::now().to_rfc3339(),
    });
    if let Some(c) = cluster {
        e["cluster"] = json!(c);
    }
    e
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect()
}

async fn stored(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM verification_events")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_batch_is_stored_once_and_duplicates_are_counted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let ids = ids(3);
    let body = json!({"events": [event(&ids[0], Some("prod-eu-1")), event(&ids[1], None), event(&ids[2], None)]});
    let res = app
        .post_json("/api/v1/verification-events", &t, &body)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 3, "duplicates": 0})
    );
    let res = app
        .post_json("/api/v1/verification-events", &t, &body)
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 0, "duplicates": 3})
    );
    assert_eq!(stored(&app).await, 3);
    let (cluster, repository, keys): (String, String, Vec<String>) = sqlx::query_as(
        "SELECT c.name, e.repository, e.key_fingerprints FROM verification_events e JOIN clusters c ON c.id = e.cluster_id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(cluster, "prod-eu-1");
    assert_eq!(repository, "registry.example.com/payments/api");
    assert_eq!(keys, vec![D.to_string()]);
    let reported: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_report_at FROM clusters WHERE name = 'prod-eu-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(reported.is_some());
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_malformed_item_refuses_the_whole_batch_and_names_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let ids = ids(3);
    let mut bad = event(&ids[1], None);
    bad["digest"] = json!("sha256:nothex");
    let body = json!({"events": [event(&ids[0], None), bad, event(&ids[2], None)]});
    let res = app
        .post_json("/api/v1/verification-events", &t, &body)
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["index"], 1);
    assert_eq!(p["field"], "digest");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .starts_with("events[1].digest"));
    assert_eq!(stored(&app).await, 0, "nothing of the batch is stored");

    // A value of the wrong type is refused just as precisely.
    let mut bad = event(&ids[1], None);
    bad["outcome"] = json!(5);
    let res = app
        .post_json("/api/v1/verification-events", &t, &json!({"events": [bad]}))
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["index"], 0);

    let mut future = event(&ids[2], None);
    future["observed_at"] = json!((chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339());
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &t,
            &json!({"events": [future]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "observed_at");

    let res = app
        .post_json("/api/v1/verification-events", &t, &json!({"nope": []}))
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(stored(&app).await, 0);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn scopes_and_cluster_bindings_are_enforced(pool: PgPool) {
    let app = spawn_app(pool).await;
    let signer = app
        .token("ci", &[TokenScope::IngestSigning], None, false)
        .await;
    let eu = app.cluster_token("prod-eu-1").await;
    let fleet = app
        .token("fleet", &[TokenScope::IngestVerification], None, false)
        .await;
    let registrar = app
        .token("registrar", &[TokenScope::IngestVerification], None, true)
        .await;
    let id = ids(1).remove(0);

    let res = app
        .post_json(
            "/api/v1/verification-events",
            &signer,
            &json!({"events": [event(&id, Some("prod-eu-1"))]}),
        )
        .await;
    assert_eq!(res.status(), 403, "wrong scope");

    let res = app
        .post_json(
            "/api/v1/verification-events",
            &eu,
            &json!({"events": [event(&id, Some("prod-us-1"))]}),
        )
        .await;
    assert_eq!(
        res.status(),
        403,
        "a bound token reports for its own cluster only"
    );
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "cluster");

    let res = app
        .post_json(
            "/api/v1/verification-events",
            &fleet,
            &json!({"events": [event(&id, Some("new-cluster"))]}),
        )
        .await;
    assert_eq!(
        res.status(),
        403,
        "unknown clusters need a token that may register them"
    );
    assert_eq!(stored(&app).await, 0);

    let res = app
        .post_json(
            "/api/v1/verification-events",
            &registrar,
            &json!({"events": [event(&id, Some("new-cluster"))]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        app.has_audit("cluster.registered", "cluster:new-cluster")
            .await
    );
    // Once registered, any reporting token may report for it.
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &fleet,
            &json!({"events": [event(&ids(1)[0], Some("new-cluster"))]}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn oversize_requests_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let many: Vec<Value> = ids(5001).iter().map(|id| event(id, None)).collect();
    let res = app
        .post_json("/api/v1/verification-events", &t, &json!({"events": many}))
        .await;
    assert_eq!(res.status(), 413);
    let huge = "x".repeat(33 * 1024 * 1024);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/verification-events"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(format!("{{\"events\":[],\"pad\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let mut long = event(&ids(1)[0], None);
    long["message"] = json!("m".repeat(17 * 1024));
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &t,
            &json!({"events": [long]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(stored(&app).await, 0);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn signing_events_are_stamped_with_the_servers_time(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app
        .token("ci", &[TokenScope::IngestSigning], None, false)
        .await;
    let id = ids(1).remove(0);
    let body = json!({"events": [{
        "id": id, "key": D, "image": "registry.example.com/payments/api:1.4.2", "digest": D,
        "signer": {"identity": "gitlab/payments/api/release#42", "host": "runner-3"},
        "payload": "eyJhIjoxfQ==", "signature": "MEUCIQ==", "signed_at": "2020-01-01T00:00:00Z"
    }]});
    let before = chrono::Utc::now();
    let res = app.post_json("/api/v1/signing-events", &t, &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 1);
    let (claimed, recorded, payload): (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        Vec<u8>,
    ) = sqlx::query_as("SELECT claimed_at, recorded_at, payload FROM signing_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        claimed.to_rfc3339(),
        "2020-01-01T00:00:00+00:00",
        "the claim is kept"
    );
    assert!(
        recorded >= before - chrono::Duration::seconds(1),
        "the recorded time is ours"
    );
    assert_eq!(payload, b"{\"a\":1}");
    let res = app.post_json("/api/v1/signing-events", &t, &body).await;
    assert_eq!(res.json::<Value>().await.unwrap()["duplicates"], 1);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn admission_messages_are_classified(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app
        .token(
            "us",
            &[TokenScope::IngestVerification],
            Some("prod-us-1"),
            false,
        )
        .await;
    let message = format!("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: prod-images: spec.containers[0].image\nregistry.example.com/payments/api@{D} signature key validation failed for authority authority-0 for registry.example.com/payments/api@{D}: no signatures found");
    let body = json!({"events": [{
        "id": ids(1)[0], "namespace": "payments", "workload": {"kind": "Pod", "name": "api-7d9"},
        "message": message, "observed_at": chrono::Utc::now().to_rfc3339()
    }]});
    let res = app.post_json("/api/v1/admission-messages", &t, &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (engine, reason, policy, digest, outcome, kept): (
        String,
        String,
        String,
        String,
        String,
        String,
    ) = sqlx::query_as(
        "SELECT engine, reason, policy, digest, outcome, message FROM verification_events",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(engine, "policy-controller");
    assert_eq!(reason, "unsigned");
    assert_eq!(policy, "prod-images");
    assert_eq!(digest, D);
    assert_eq!(outcome, "rejected");
    assert_eq!(kept, message, "the raw text is kept");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn heartbeats_update_the_cluster(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let res = app
        .post_json(
            "/api/v1/clusters/heartbeat",
            &t,
            &json!({"engine": "kyverno", "enforcement_mode": "enforce", "bundle_version": 7}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let (engine, mode, version, seen): (String, String, i64, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT engine, enforcement_mode, bundle_version, last_report_at FROM clusters WHERE name = 'prod-eu-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (engine.as_str(), mode.as_str(), version),
        ("kyverno", "enforce", 7)
    );
    assert!(seen.is_some());
    let res = app
        .post_json(
            "/api/v1/clusters/heartbeat",
            &t,
            &json!({"cluster": "prod-us-1"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json(
            "/api/v1/clusters/heartbeat",
            &t,
            &json!({"enforcement_mode": "yolo"}),
        )
        .await;
    assert_eq!(res.status(), 422);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_openapi_document_describes_the_routes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 401);
    let t = app.token("reader", &[TokenScope::Read], None, false).await;
    let doc: Value = reqwest::Client::new()
        .get(app.url("/api/v1/openapi.json"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/verification-events",
        "/signing-events",
        "/admission-messages",
        "/clusters/heartbeat",
        "/clusters",
        "/policy-reports",
        "/connaisseur-alerts",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_database_outage_answers_503_and_loses_nothing(pool: PgPool) {
    use crate::helpers::{database_address, DbProxy};

    let proxy = DbProxy::start(database_address(&pool)).await;
    let app = spawn_app(proxy.pool_like(&pool)).await;
    let t = app.cluster_token("prod-eu-1").await;
    let first: Vec<Value> = ids(2).iter().map(|id| event(id, None)).collect();
    let second: Vec<Value> = ids(3).iter().map(|id| event(id, None)).collect();
    let res = app
        .post_json("/api/v1/verification-events", &t, &json!({"events": first}))
        .await;
    assert_eq!(res.status(), 200);

    proxy.down();
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &t,
            &json!({"events": second}),
        )
        .await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 503);

    // The sender retries once the database is back: everything arrives exactly once.
    proxy.up();
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &t,
            &json!({"events": second}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 3, "duplicates": 0})
    );
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 5);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn an_id_repeated_within_a_batch_is_one_event(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let once = event(&ids(1)[0], None);
    let body = json!({"events": [once.clone(), event(&ids(1)[0], None), once]});
    let res = app
        .post_json("/api/v1/verification-events", &t, &body)
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"accepted": 2, "duplicates": 1})
    );
    assert_eq!(stored(&app).await, 2);
}

// Concurrent requests carrying the same new ids race past the duplicate check; the loser must
// retry and count them as duplicates, never fail or store them twice.
#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_same_new_batch_sent_concurrently_is_stored_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let batch: Vec<Value> = ids(300).iter().map(|id| event(id, None)).collect();
    let body = json!({"events": batch});
    let answers = futures::future::join_all(
        (0..6).map(|_| app.post_json("/api/v1/verification-events", &t, &body)),
    )
    .await;
    let mut accepted = 0;
    for res in answers {
        assert_eq!(res.status(), 200);
        let answer = res.json::<Value>().await.unwrap();
        let (a, d) = (
            answer["accepted"].as_u64().unwrap(),
            answer["duplicates"].as_u64().unwrap(),
        );
        assert_eq!(a + d, 300, "{answer}");
        accepted += a;
    }
    assert_eq!(accepted, 300, "each event is new to exactly one request");
    assert_eq!(stored(&app).await, 300);
    let counted: i64 = sqlx::query_scalar("SELECT sum(events)::bigint FROM verification_hourly")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 300);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn hourly_rollups_count_each_event_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let batch: Vec<Value> = ids(4).iter().map(|id| event(id, None)).collect();
    let mut admitted = event(&ids(1)[0], None);
    admitted["outcome"] = json!("admitted");
    admitted["reason"] = json!("admitted");
    for body in [
        json!({"events": batch}),
        json!({"events": batch}),
        json!({"events": [admitted]}),
    ] {
        assert_eq!(
            app.post_json("/api/v1/verification-events", &t, &body)
                .await
                .status(),
            200
        );
    }
    let rollup: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT outcome, reason, sum(events)::bigint FROM verification_hourly GROUP BY 1, 2 ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        rollup,
        vec![
            ("admitted".into(), "admitted".into(), 1),
            ("rejected".into(), "unsigned".into(), 4)
        ],
        "duplicates are not counted twice"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn retention_drops_old_months_and_keeps_rollups(pool: PgPool) {
    let app = spawn_app(pool).await;
    let t = app.cluster_token("prod-eu-1").await;
    let mut old = event(&ids(1)[0], None);
    old["observed_at"] = json!((chrono::Utc::now() - chrono::Duration::days(300)).to_rfc3339());
    let recent = event(&ids(1)[0], None);
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &t,
            &json!({"events": [old, recent]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(stored(&app).await, 2);

    let report =
        service::maintenance::run(&app.pool, chrono::Utc::now(), chrono::Duration::days(200))
            .await
            .unwrap();
    assert!(!report.dropped_partitions.is_empty());
    assert_eq!(stored(&app).await, 1, "the old month is gone");
    let rolled: i64 = sqlx::query_scalar("SELECT sum(events)::bigint FROM verification_hourly")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rolled, 2, "rollups outlive the raw events");
    // Running again is harmless, and next months' partitions exist.
    service::maintenance::run(&app.pool, chrono::Utc::now(), chrono::Duration::days(200))
        .await
        .unwrap();
    let ahead = (chrono::Utc::now() + chrono::Duration::days(62))
        .format("verification_events_%Y_%m")
        .to_string();
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&ahead)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(exists, "{ahead} prepared");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_ingest_endpoint_refuses_bad_input_and_wrong_scopes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let reporter = app.cluster_token("prod-eu-1").await;
    let signer = app
        .token("ci", &[TokenScope::IngestSigning], None, false)
        .await;
    let reader = app.token("reader", &[TokenScope::Read], None, false).await;
    let signing = json!({"events": [{
        "id": ids(1)[0], "key": D, "image": "registry.example.com/payments/api:1.4.2", "digest": D,
        "signer": {"identity": "ci/job#1"}
    }]});
    let mut bad_signing = signing.clone();
    bad_signing["events"][0]["key"] = json!("sha256:short");
    let message = json!({"events": [{
        "id": ids(1)[0], "namespace": "web", "workload": {"kind": "Pod", "name": "x"},
        "message": "admission webhook \"connaisseur-svc.connaisseur.svc\" denied the request: Unable to find signed digest for image docker.io/x/y:1.",
        "observed_at": chrono::Utc::now().to_rfc3339()
    }]});
    let mut bad_message = message.clone();
    bad_message["events"][0]["observed_at"] = json!("later");

    for (path, good, bad, right, wrong) in [
        (
            "/api/v1/signing-events",
            &signing,
            &bad_signing,
            &signer,
            &reporter,
        ),
        (
            "/api/v1/admission-messages",
            &message,
            &bad_message,
            &reporter,
            &signer,
        ),
    ] {
        let res = app.post_json(path, wrong, good).await;
        assert_eq!(res.status(), 403, "{path}: wrong scope");
        let res = app.post_json(path, reader.as_str(), good).await;
        assert_eq!(res.status(), 403, "{path}: read scope");
        let res = app.post_json(path, right, bad).await;
        assert_eq!(res.status(), 422, "{path}: malformed");
        assert_eq!(res.json::<Value>().await.unwrap()["index"], 0);
        let res = app.post_json(path, right, good).await;
        assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 1, "{path}");
        let res = app.post_json(path, right, good).await;
        assert_eq!(
            res.json::<Value>().await.unwrap()["duplicates"],
            1,
            "{path}"
        );
    }
    for path in [
        "/api/v1/policy-reports",
        "/api/v1/connaisseur-alerts",
        "/api/v1/clusters/heartbeat",
    ] {
        let res = app.post_json(path, &signer, &json!({})).await;
        assert_eq!(res.status(), 403, "{path}: wrong scope");
    }
    let stored_signing: i64 = sqlx::query_scalar("SELECT count(*) FROM signing_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored_signing, 1);
    assert_eq!(stored(&app).await, 1);
}

// The failure cases every endpoint shares the code for (body limits, cluster binding, database
// loss) are asserted on each endpoint, so a new endpoint that bypasses that code is caught.
#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_endpoint_refuses_oversize_bodies_other_clusters_and_waits_out_an_outage(
    pool: PgPool,
) {
    use crate::helpers::{database_address, DbProxy};

    let proxy = DbProxy::start(database_address(&pool)).await;
    let app = spawn_app(proxy.pool_like(&pool)).await;
    let reporter = app.cluster_token("prod-eu-1").await;
    let signer = app
        .token("ci", &[TokenScope::IngestSigning], None, false)
        .await;
    let now = || chrono::Utc::now().to_rfc3339();
    let message = |cluster: &str| {
        json!({"events": [{
            "id": ids(1)[0], "cluster": cluster, "namespace": "web",
            "workload": {"kind": "Pod", "name": "x"}, "observed_at": now(),
            "message": "admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: prod: spec.containers[0].image\nregistry.example.com/web/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef signature key validation failed for authority authority-0 for registry.example.com/web/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef: no matching signatures",
        }]})
    };
    let alert = |cluster: &str| {
        json!({
            "alert_message": "CONNAISSEUR rejected a request", "priority": "3",
            "cluster": cluster, "namespace": "web", "timestamp": "2026-11-25 10:00:00.123456",
            "request_id": uuid::Uuid::now_v7().to_string(),
            "images": "['docker.io/securesystemsengineering/testimage:unsigned']"
        })
    };
    let heartbeat = |cluster: &str| json!({"cluster": cluster, "engine": "kyverno", "enforcement_mode": "enforce", "bundle_version": 1});
    let mut report = serde_json::from_str::<Value>(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/kyverno-policyreport.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    report["metadata"]["uid"] = json!(uuid::Uuid::now_v7().to_string());
    let signing = json!({"events": [{
        "id": ids(1)[0], "key": D, "image": "registry.example.com/payments/api:1.4.2", "digest": D,
        "signer": {"identity": "ci/job#1"}
    }]});
    let verification = |cluster: &str| json!({"events": [event(&ids(1)[0], Some(cluster))]});

    // (path, token, a good body, the same for another cluster where the body can name one).
    // Connaisseur names the cluster from its own CLUSTER_NAME setting, not as a claim: a bound
    // token's alerts are recorded for the token's cluster whatever that setting says.
    type Endpoint<'a> = (&'a str, &'a str, Value, Option<(Value, u16)>);
    let endpoints: Vec<Endpoint> = vec![
        (
            "/api/v1/verification-events",
            &reporter,
            verification("prod-eu-1"),
            Some((verification("prod-us-1"), 403)),
        ),
        ("/api/v1/signing-events", &signer, signing, None),
        (
            "/api/v1/admission-messages",
            &reporter,
            message("prod-eu-1"),
            Some((message("prod-us-1"), 403)),
        ),
        ("/api/v1/policy-reports", &reporter, report, None),
        (
            "/api/v1/connaisseur-alerts",
            &reporter,
            alert("prod-eu-1"),
            Some((alert("prod-us-1"), 200)),
        ),
        (
            "/api/v1/clusters/heartbeat",
            &reporter,
            heartbeat("prod-eu-1"),
            Some((heartbeat("prod-us-1"), 403)),
        ),
    ];
    let huge = format!(
        "{{\"events\":[],\"pad\":\"{}\"}}",
        "x".repeat(33 * 1024 * 1024)
    );
    for (path, token, good, elsewhere) in &endpoints {
        let res = reqwest::Client::new()
            .post(app.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{path}: oversize body");
        if let Some((body, status)) = elsewhere {
            let res = app.post_json(path, token, body).await;
            assert_eq!(res.status(), *status, "{path}: another cluster");
        }
        proxy.down();
        let res = app.post_json(path, token, good).await;
        assert_eq!(res.status(), 503, "{path}: database down");
        assert_eq!(res.headers()["retry-after"], "5", "{path}");
        proxy.up();
        let res = app.post_json(path, token, good).await;
        assert!(res.status().is_success(), "{path}: after the outage");
    }
    // Nothing from the refused requests, everything from the retried ones, once.
    let (verifications, signings): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM verification_events), (SELECT count(*) FROM signing_events)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(signings, 1);
    assert_eq!(
        verifications,
        1 + 1 + 3 + 2,
        "native, message, report, two alerts"
    );
    let clusters: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.name FROM verification_events e JOIN clusters c ON c.id = e.cluster_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        clusters,
        vec!["prod-eu-1".to_string()],
        "all for the token's cluster"
    );
}
