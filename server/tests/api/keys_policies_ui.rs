//! The Keys and Policies pages' server functions: who may change what, that changes publish a
//! bundle, and that a policy dry run judges recorded admissions without storing anything.

use domain::cosign_key::CosignPrivateKey;
use domain::{Digest, ImageReference, Role, TokenScope};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{form, spawn_app, TestApp};

fn key(seed: u8) -> CosignPrivateKey {
    CosignPrivateKey::from_random_scalar(&[seed; 32]).unwrap()
}

async fn bundle_version(app: &TestApp) -> Option<i64> {
    sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn security_imports_and_revokes_keys_viewers_only_read(pool: PgPool) {
    let app = spawn_app(pool).await;
    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let security = app.logged_in("sec@example.com", Role::Security).await;
    let pem = key(7).public_key().to_pem();
    let import = form(&[
        ("name", "ci-release"),
        ("owner_team", "platform"),
        ("custody", "kms"),
        ("public_key_pem", &pem),
        ("rotation_period_days", "90"),
    ]);

    let res = app.server_fn(&viewer, "keys/import", &import).await;
    assert_eq!(res.status(), 403, "a viewer may not import keys");
    let before = bundle_version(&app).await;
    let res = app.server_fn(&security, "keys/import", &import).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let after = bundle_version(&app).await;
    assert!(
        after > before,
        "importing publishes a bundle: {before:?} → {after:?}"
    );

    let res = app.server_fn(&viewer, "keys/list", "").await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["can_change"], false);
    assert_eq!(list["keys"][0]["name"], "ci-release");
    assert_eq!(list["keys"][0]["status"], "active");
    assert_eq!(
        list["keys"][0]["fingerprint"],
        key(7).public_key().fingerprint().as_str()
    );

    let res = app
        .server_fn(&viewer, "keys/set_status", "name=ci-release&status=revoked")
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .server_fn(
            &security,
            "keys/set_status",
            "name=ci-release&status=compromised&since=",
        )
        .await;
    assert_eq!(res.status(), 422, "compromised needs a time");
    let res = app
        .server_fn(
            &security,
            "keys/set_status",
            "name=ci-release&status=compromised&since=2026-11-01T10%3A00",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (status, since): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT status, compromised_since FROM keys WHERE name = 'ci-release'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "compromised");
    assert_eq!(since.unwrap().to_rfc3339(), "2026-11-01T10:00:00+00:00");
    assert!(
        bundle_version(&app).await > after,
        "the status change publishes"
    );
    assert!(app.has_audit("key.registered", "key:ci-release").await);
    assert!(app.has_audit("key.status_changed", "key:ci-release").await);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_policy_dry_run_shows_the_diff_and_its_effect_and_stores_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let security = app.logged_in("sec@example.com", Role::Security).await;
    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    for (name, seed) in [("ci-release", 1u8), ("security-review", 2)] {
        let body = form(&[
            ("name", name),
            ("owner_team", "platform"),
            ("custody", "kms"),
            ("public_key_pem", &key(seed).public_key().to_pem()),
        ]);
        let res = app.server_fn(&security, "keys/import", &body).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    // One image signed by ci-release only, recorded as a signing event, then admitted in prod.
    let image = ImageReference::parse("registry.example.com/payments/api:1.0").unwrap();
    let digest = Digest::of(b"payments-api-1.0");
    let payload = domain::simple_signing::cosign_payload(&image, &digest);
    let signature = key(1).sign(&payload);
    let signer = app
        .token("ci", &[TokenScope::IngestSigning], None, false)
        .await;
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let res = app
        .post_json(
            "/api/v1/signing-events",
            &signer,
            &json!({"events": [{
                "id": uuid::Uuid::now_v7().to_string(), "key": key(1).public_key().fingerprint().as_str(),
                "image": image.to_string(), "digest": digest.as_str(), "signer": {"identity": "ci/release"},
                "payload": b64.encode(&payload), "signature": b64.encode(&signature),
            }]}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let reporter = app.cluster_token("prod-eu-1").await;
    let events: Vec<Value> = (0..3)
        .map(|_| {
            json!({
                "id": uuid::Uuid::now_v7().to_string(), "namespace": "payments",
                "workload": {"kind": "Deployment", "name": "api"}, "image": image.to_string(),
                "digest": digest.as_str(), "outcome": "admitted", "reason": "admitted",
                "engine": "kyverno", "observed_at": chrono::Utc::now().to_rfc3339(),
            })
        })
        .collect();
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &reporter,
            &json!({"events": events}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let one_of_one = "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: prod-images}\nspec:\n  images: [\"registry.example.com/payments/*\"]\n  mode: enforce\n  authorities: {threshold: 1, keys: [ci-release]}\n";
    let two_of_two = one_of_one.replace(
        "{threshold: 1, keys: [ci-release]}",
        "{threshold: 2, keys: [ci-release, security-review]}",
    );
    let res = app
        .server_fn(
            &security,
            "policies/apply",
            &form(&[("documents", one_of_one), ("dry_run", "false")]),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let version = bundle_version(&app).await;
    let res = app.server_fn(&viewer, "policies/list", "").await;
    assert_eq!(res.status(), 200, "everyone reads the policies");
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["can_change"], false);
    assert_eq!(list["policies"][0]["name"], "prod-images");
    assert!(list["policies"][0]["yaml"]
        .as_str()
        .unwrap()
        .contains("ci-release"));

    let res = app
        .server_fn(
            &viewer,
            "policies/apply",
            &form(&[("documents", &two_of_two), ("dry_run", "true")]),
        )
        .await;
    assert_eq!(res.status(), 403, "a viewer may not even dry-run");
    let res = app
        .server_fn(
            &security,
            "policies/apply",
            &form(&[("documents", &two_of_two), ("dry_run", "true")]),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(outcome["dry_run"], true);
    assert_eq!(outcome["changes"][0]["change"], "changed");
    assert!(outcome["changes"][0]["diff"]
        .as_str()
        .unwrap()
        .contains("security-review"));
    let impact = &outcome["impact"];
    assert_eq!(impact["placements"], 1);
    assert_eq!(impact["admissions"], 3);
    assert_eq!(
        impact["refused_now"], 0,
        "ci-release's signature satisfies 1 of 1"
    );
    assert_eq!(impact["refused_after"], 1, "2 of 2 is not met");
    assert_eq!(impact["changes"][0]["now"], "allowed");
    assert_eq!(impact["changes"][0]["after"], "refused");
    assert!(impact["changes"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("security-review"));
    assert_eq!(
        bundle_version(&app).await,
        version,
        "a dry run publishes nothing"
    );
    let stored: String =
        sqlx::query_scalar("SELECT document::text FROM policies WHERE name = 'prod-images'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        !stored.contains("security-review"),
        "a dry run stores nothing"
    );

    let res = app
        .server_fn(
            &security,
            "policies/apply",
            &form(&[
                ("documents", "kind: Policy\nmetadata: {name: x}\nspec: {}"),
                ("dry_run", "true"),
            ]),
        )
        .await;
    assert_eq!(
        res.status(),
        422,
        "an invalid document is refused with its problems"
    );
    let text = res.text().await.unwrap();
    assert!(text.contains("documents[0]: missing field"), "{text}");
}
