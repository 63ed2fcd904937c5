//! `GET /api/v1/policies/export?format=…&without=…`: the policies as other engines' objects,
//! with the keys an incident names left out.

use domain::{BundleSigningKey, TokenScope};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{spawn_app, TestApp};

fn pem(seed: u8) -> String {
    BundleSigningKey::from_seed(&[seed; 32])
        .unwrap()
        .public_key()
        .to_pem()
}

/// Imports two keys and applies a 1-of-2 policy; returns (reader token, fingerprint of the
/// second key).
async fn setup(app: &TestApp) -> (String, String) {
    let admin = app.token("ops", &[TokenScope::Admin], None, false).await;
    let reader = app.token("reader", &[TokenScope::Read], None, false).await;
    let mut fingerprints = Vec::new();
    for (name, seed) in [("ci-release", 1), ("backup-release", 2)] {
        let res = app
            .post_json(
                "/api/v1/keys",
                &admin,
                &json!({"name": name, "public_key_pem": pem(seed), "owner_team": "platform",
                        "custody": "kms", "valid_from": "2026-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        fingerprints.push(body["key"]["fingerprint"].as_str().unwrap().to_owned());
    }
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/policies/apply"))
        .bearer_auth(&admin)
        .header("content-type", "application/yaml")
        .body(
            "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: payments}\nspec:\n  \
             images: ['reg.example.com/payments/*']\n  \
             authorities: {threshold: 1, keys: [ci-release, backup-release]}\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    (reader, fingerprints.pop().unwrap())
}

async fn get(app: &TestApp, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(app.url(&format!("/api/v1/policies/export{query}")));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

fn key_pems(doc: &serde_yaml::Value) -> Vec<String> {
    doc["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["keys"]["publicKeys"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn exports_kyverno_policies_without_the_named_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (reader, backup) = setup(&app).await;

    let res = get(&app, Some(&reader), "?format=kyverno-cluster-policy").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/yaml");
    assert_eq!(res.headers()["x-trustwatch-cache-expiry-seconds"], "3600");
    let doc: serde_yaml::Value = serde_yaml::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(doc["apiVersion"], "kyverno.io/v1");
    assert_eq!(doc["kind"], "ClusterPolicy");
    assert_eq!(doc["metadata"]["name"], "tw-payments");
    assert_eq!(key_pems(&doc), [pem(1), pem(2)]);

    let res = get(
        &app,
        Some(&reader),
        &format!("?format=kyverno-cluster-policy&without={backup}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(key_pems(&doc), [pem(1)]);
    assert!(text.contains("# Left out key backup-release"), "{text}");
    assert_eq!(
        doc["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["count"],
        1
    );

    // Both keys gone, comma-separated: the policy refuses rather than admits.
    let ci: String = sqlx::query_scalar("SELECT fingerprint FROM keys WHERE name = 'ci-release'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = get(
        &app,
        Some(&reader),
        &format!("?format=policy-controller&without={ci},{backup}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: serde_yaml::Value = serde_yaml::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(doc["kind"], "ClusterImagePolicy");
    assert_eq!(doc["spec"]["authorities"][0]["static"]["action"], "fail");

    // Without a format: Trustwatch's own documents, as before.
    let res = get(&app, Some(&reader), "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("apiVersion: trustwatch.dev/v1"));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn refuses_strangers_and_bad_requests_clearly(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (reader, _) = setup(&app).await;

    let res = get(&app, None, "?format=kyverno-cluster-policy").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let ingest = app.cluster_token("prod-eu-1").await;
    let res = get(&app, Some(&ingest), "?format=kyverno-cluster-policy").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = get(&app, Some(&reader), "?format=gatekeeper").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: Value = res.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("kyverno-cluster-policy"), "{detail}");

    let res = get(
        &app,
        Some(&reader),
        "?format=policy-controller&withot=sha256:00",
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("withot"));

    let unknown = format!("sha256:{}", "ab".repeat(32));
    let res = get(
        &app,
        Some(&reader),
        &format!("?format=policy-controller&without={unknown}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no key in trust bundle"),
        "{problem}"
    );
}
