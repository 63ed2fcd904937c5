//! Keys, key groups, policies as code and the signed trust bundle: APIs, scopes, audit, and the
//! CLI commands end to end.

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::Utc;
use domain::{BundleSigningKey, KeyStatus, PublicKey, SignedTrustBundle, TokenScope, TrustBundle};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{spawn_app, TestApp};

/// A public key PEM (Ed25519) that differs per seed.
fn public_pem(seed: u8) -> String {
    BundleSigningKey::from_seed(&[seed; 32])
        .unwrap()
        .public_key()
        .to_pem()
}

async fn admin_token(app: &TestApp) -> String {
    app.token("ops", &[TokenScope::Admin], None, false).await
}

async fn read_token(app: &TestApp) -> String {
    app.token("reader", &[TokenScope::Read], None, false).await
}

/// The published bundle, checked against the key the server publishes.
async fn fetch_bundle(app: &TestApp, token: &str) -> (String, TrustBundle) {
    let http = reqwest::Client::new();
    let key = http
        .get(app.url("/api/v1/trust-bundle/key"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(key.status(), StatusCode::OK);
    let key = PublicKey::parse_pem(&key.text().await.unwrap()).unwrap();
    let res = http
        .get(app.url("/api/v1/trust-bundle"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let signed: SignedTrustBundle = res.json().await.unwrap();
    let bundle = signed
        .verify(&[key], Utc::now())
        .expect("the bundle verifies");
    assert!(
        etag.starts_with(&format!("\"{}-", bundle.version())),
        "{etag}"
    );
    (etag, bundle)
}

async fn import_key(app: &TestApp, token: &str, name: &str, seed: u8) -> reqwest::Response {
    app.post_json(
        "/api/v1/keys",
        token,
        &json!({"name": name, "public_key_pem": public_pem(seed), "owner_team": "platform",
                "custody": "kms", "rotation_period_days": 90}),
    )
    .await
}

async fn put_json(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .put(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn apply(app: &TestApp, token: &str, yaml: &str, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(&format!("/api/v1/policies/apply{query}")))
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap()
}

async fn bundle_versions(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM trust_bundles")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_key_change_publishes_a_verifiable_bundle(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = admin_token(&app).await;
    let reader = read_token(&app).await;

    // Version 1 exists from the start, and the key it is signed with is the one in the file.
    let (etag1, v1) = fetch_bundle(&app, &reader).await;
    assert_eq!(v1.version(), 1);
    assert!(v1.keys().is_empty());
    assert_eq!(v1.default_action(), domain::DefaultAction::Deny);
    assert_eq!(
        app.publisher.public_key(),
        server::bundle_key::read(&app.bundle_key_file)
            .unwrap()
            .unwrap()
            .public_key()
    );

    // Conditional requests: the same ETag gives 304 without a body.
    let http = reqwest::Client::new();
    let res = http
        .get(app.url("/api/v1/trust-bundle"))
        .bearer_auth(&reader)
        .header("if-none-match", &etag1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag1);
    assert!(res.bytes().await.unwrap().is_empty());

    // Importing a key publishes version 2, which carries it.
    let res = import_key(&app, &admin, "ci-release", 1).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let change: Value = res.json().await.unwrap();
    assert_eq!(change["bundle_version"], 2);
    assert_eq!(change["key"]["algorithm"], "ed25519");
    assert_eq!(change["key"]["owner_team"], "platform");
    let (etag2, v2) = fetch_bundle(&app, &reader).await;
    assert_ne!(etag2, etag1);
    assert_eq!(v2.version(), 2);
    assert_eq!(v2.key("ci-release").unwrap().status(), KeyStatus::Active);
    let res = http
        .get(app.url("/api/v1/trust-bundle"))
        .bearer_auth(&reader)
        .header("if-none-match", &etag1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "an old ETag gets the new bundle"
    );

    // The same public key under another name, and the same name again, are refused; nothing is
    // published.
    assert_eq!(
        import_key(&app, &admin, "ci-again", 1).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        import_key(&app, &admin, "ci-release", 2).await.status(),
        StatusCode::CONFLICT
    );
    let res = app
        .post_json(
            "/api/v1/keys",
            &admin,
            &json!({"name": "bad", "public_key_pem": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("private key"),
        "{problem}"
    );
    assert_eq!(bundle_versions(&app.pool).await, 2);

    // Compromised needs a time; revoking changes the bundle.
    let res = put_json(
        &app,
        "/api/v1/keys/ci-release/status",
        &admin,
        &json!({"status": "compromised"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let since = Utc::now() - chrono::Duration::hours(2);
    let res = put_json(
        &app,
        "/api/v1/keys/ci-release/status",
        &admin,
        &json!({"status": "compromised", "since": since}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, v3) = fetch_bundle(&app, &reader).await;
    let key = v3.key("ci-release").unwrap();
    assert_eq!(key.status(), KeyStatus::Compromised);
    assert_eq!(
        key.compromised_since().unwrap().timestamp_micros(),
        since.timestamp_micros()
    );
    let res = put_json(
        &app,
        "/api/v1/keys/ci-release/status",
        &admin,
        &json!({"status": "revoked"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let change: Value = res.json().await.unwrap();
    assert_eq!(change["bundle_version"], 4);
    let (_, v4) = fetch_bundle(&app, &reader).await;
    let key = v4.key("ci-release").unwrap();
    assert_eq!(key.status(), KeyStatus::Revoked);
    assert!(key.revoked_at().is_some());

    // A compromised key is never trusted again; revoking twice changes nothing.
    let res = put_json(
        &app,
        "/api/v1/keys/ci-release/status",
        &admin,
        &json!({"status": "active"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = put_json(
        &app,
        "/api/v1/keys/ci-release/status",
        &admin,
        &json!({"status": "revoked"}),
    )
    .await;
    let change: Value = res.json().await.unwrap();
    assert_eq!(change["bundle_version"], Value::Null);
    let res = put_json(
        &app,
        "/api/v1/keys/nobody/status",
        &admin,
        &json!({"status": "revoked"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(bundle_versions(&app.pool).await, 4);

    // Every change and every publication is in the audit log, by the token that made it.
    let audit = app.audit_actions().await;
    let count = |action: &str| audit.iter().filter(|(a, _, _)| a == action).count();
    assert_eq!(count("key.registered"), 1);
    assert_eq!(count("key.status_changed"), 2);
    assert_eq!(count("trust_bundle.published"), 4);
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE action = 'key.status_changed' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, "token:ops");
    let published_by: String =
        sqlx::query_scalar("SELECT published_by FROM trust_bundles WHERE version = 4")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(published_by, "token:ops");

    // Listing and reading keys.
    let keys: Value = reqwest::Client::new()
        .get(app.url("/api/v1/keys"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["status"], "revoked");
    let one = reqwest::Client::new()
        .get(app.url("/api/v1/keys/ci-release"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), StatusCode::OK);

    // Published versions cannot be rewritten.
    assert!(sqlx::query("DELETE FROM trust_bundles")
        .execute(&app.pool)
        .await
        .is_err());
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn scopes_are_enforced(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = admin_token(&app).await;
    let reader = read_token(&app).await;
    let cluster = app.cluster_token("prod-eu-1").await;
    let signer = app
        .token("ci", &[TokenScope::IngestSigning], None, false)
        .await;
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(app.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    for path in ["/api/v1/trust-bundle", "/api/v1/trust-bundle/key"] {
        assert_eq!(get(path, None).await.unwrap().status(), 401, "{path}");
        assert_eq!(
            get(path, Some(&signer)).await.unwrap().status(),
            403,
            "{path}"
        );
        for token in [&reader, &cluster, &admin] {
            assert_eq!(
                get(path, Some(token)).await.unwrap().status(),
                200,
                "{path}"
            );
        }
    }
    for path in [
        "/api/v1/keys",
        "/api/v1/policies",
        "/api/v1/policies/export",
        "/api/v1/key-groups",
    ] {
        assert_eq!(get(path, None).await.unwrap().status(), 401, "{path}");
        assert_eq!(
            get(path, Some(&cluster)).await.unwrap().status(),
            403,
            "{path}"
        );
        assert_eq!(
            get(path, Some(&reader)).await.unwrap().status(),
            200,
            "{path}"
        );
        assert_eq!(
            get(path, Some(&admin)).await.unwrap().status(),
            200,
            "{path}"
        );
    }
    // Changes need the admin scope; read is not enough.
    for token in [&reader, &cluster, &signer] {
        assert_eq!(import_key(&app, token, "k", 1).await.status(), 403);
        assert_eq!(
            apply(&app, token, POLICY_FILE, "?dry_run=true")
                .await
                .status(),
            403
        );
        assert_eq!(
            put_json(
                &app,
                "/api/v1/keys/k/status",
                token,
                &json!({"status": "revoked"})
            )
            .await
            .status(),
            403
        );
        assert_eq!(
            put_json(&app, "/api/v1/key-groups/g", token, &json!({"keys": ["k"]}))
                .await
                .status(),
            403
        );
    }
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/keys"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(bundle_versions(&app.pool).await, 1);
    assert_eq!(import_key(&app, &admin, "k", 1).await.status(), 201);

    // Documented.
    let doc: Value = get("/api/v1/openapi.json", Some(&reader))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/trust-bundle",
        "/trust-bundle/key",
        "/keys",
        "/keys/{name}",
        "/keys/{name}/status",
        "/key-groups",
        "/key-groups/{name}",
        "/policies",
        "/policies/apply",
        "/policies/export",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["SignedTrustBundle"].is_object());
}

const POLICY_FILE: &str = r#"# Kept in git.
apiVersion: trustwatch.dev/v1
kind: KeyGroup
metadata: {name: release-team}
spec:
  keys: [ci-release, web-release]
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: prod-images}
spec:
  images: ["registry.example.com/payments/*"]
  clusters: ["prod-*"]
  namespaces: ["*"]
  mode: enforce
  identity: repository
  requireDigest: false
  maxSignatureAge: 90d
  authorities: {threshold: 2, keys: [ci-release, security-review]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: web}
spec:
  images: ["registry.example.com/web/**"]
  mode: warn
  authorities: {groups: [release-team]}
"#;

async fn import_release_keys(app: &TestApp, admin: &str) {
    for (i, name) in ["ci-release", "security-review", "web-release"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            import_key(app, admin, name, i as u8 + 1).await.status(),
            201
        );
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn policies_apply_with_validation_diff_dry_run_and_audit(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = admin_token(&app).await;
    let reader = read_token(&app).await;
    import_release_keys(&app, &admin).await;
    let versions = bundle_versions(&app.pool).await;
    assert_eq!(versions, 4);

    // Refused: every problem with its document and field path; nothing is stored.
    let bad = POLICY_FILE
        .replace("security-review]", "nobody]")
        .replace("mode: warn", "mode: loud")
        .replace("groups: [release-team]", "groups: [release-team, ghosts]");
    let res = apply(&app, &admin, &bad, "").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    let paths: Vec<&str> = problem["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["documents[2].spec.mode"], "syntax first: {problem}");
    let bad = bad.replace("mode: loud", "mode: warn");
    let res = apply(&app, &admin, &bad, "").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    let paths: Vec<&str> = problem["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "documents[1].spec.authorities.keys[1]",
            "documents[2].spec.authorities.groups[1]"
        ],
        "{problem}"
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("trustwatch keys import"));
    let threshold = POLICY_FILE.replace("threshold: 2", "threshold: 0");
    let res = apply(&app, &admin, &threshold, "").await;
    let problem: Value = res.json().await.unwrap();
    assert_eq!(
        problem["problems"][0]["path"],
        "documents[1].spec.authorities.threshold"
    );

    // A dry run shows what would change and stores nothing.
    let res = apply(&app, &admin, POLICY_FILE, "?dry_run=true").await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(outcome["dry_run"], true);
    assert_eq!(outcome["bundle_version"], Value::Null);
    let summary: Vec<(String, String)> = outcome["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("release-team".to_owned(), "created".to_owned()),
            ("prod-images".to_owned(), "created".to_owned()),
            ("web".to_owned(), "created".to_owned()),
        ]
    );
    assert!(outcome["changes"][1]["diff"]
        .as_str()
        .unwrap()
        .starts_with("--- /dev/null\n+++ applied/Policy/prod-images\n@@ -0,0 +1,"));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM policies")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(bundle_versions(&app.pool).await, versions);

    // Applied: stored, audited per document, one new bundle version with all of it.
    let res = apply(&app, &admin, POLICY_FILE, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(outcome["bundle_version"], versions + 1);
    let (_, bundle) = fetch_bundle(&app, &reader).await;
    assert_eq!(bundle.policies().len(), 2);
    assert_eq!(
        bundle.key_group("release-team").unwrap().keys(),
        ["ci-release", "web-release"]
    );
    let prod = bundle
        .policies()
        .iter()
        .find(|p| p.name() == "prod-images")
        .unwrap();
    assert_eq!(prod.threshold(), 2);
    assert!(app.has_audit("policy.created", "policy:prod-images").await);
    assert!(app.has_audit("policy.created", "policy:web").await);
    assert!(
        app.has_audit("key_group.created", "key_group:release-team")
            .await
    );

    // The same file again changes nothing and publishes nothing.
    let outcome: Value = apply(&app, &admin, POLICY_FILE, "")
        .await
        .json()
        .await
        .unwrap();
    assert!(outcome["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["change"] == "unchanged" && c["diff"] == ""));
    assert_eq!(outcome["bundle_version"], Value::Null);
    assert_eq!(bundle_versions(&app.pool).await, versions + 1);

    // One changed line: the diff shows exactly it.
    let changed = POLICY_FILE.replace("mode: warn", "mode: enforce");
    let outcome: Value = apply(&app, &admin, &changed, "")
        .await
        .json()
        .await
        .unwrap();
    let web = &outcome["changes"][2];
    assert_eq!(web["change"], "changed");
    let diff = web["diff"].as_str().unwrap();
    assert!(
        diff.starts_with("--- stored/Policy/web\n+++ applied/Policy/web\n@@ "),
        "{diff}"
    );
    assert!(
        diff.contains("\n-  mode: warn\n+  mode: enforce\n"),
        "{diff}"
    );
    assert_eq!(
        diff.lines().filter(|l| l.starts_with(['-', '+'])).count(),
        4,
        "{diff}"
    );
    let version: i32 = sqlx::query_scalar("SELECT version FROM policies WHERE name = 'web'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(version, 2);
    let (_, detail): (String, Value) = sqlx::query_as(
        "SELECT action, detail FROM audit_log WHERE target = 'policy:web' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(detail["diff"], diff);

    // Export writes what applies back unchanged.
    let export = reqwest::Client::new()
        .get(app.url("/api/v1/policies/export"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("kind: KeyGroup"), "{export}");
    let outcome: Value = apply(&app, &admin, &export, "?dry_run=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        outcome["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["change"] == "unchanged"),
        "{outcome}"
    );

    // Key groups through their own endpoint, and pruning.
    let res = put_json(
        &app,
        "/api/v1/key-groups/release-team",
        &admin,
        &json!({"keys": ["web-release"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = put_json(
        &app,
        "/api/v1/key-groups/release-team",
        &admin,
        &json!({"keys": ["nobody"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let groups: Value = reqwest::Client::new()
        .get(app.url("/api/v1/key-groups"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(groups[0]["keys"], json!(["web-release"]));

    let only_prod = POLICY_FILE.split("---\n").nth(1).unwrap();
    let outcome: Value = apply(&app, &admin, only_prod, "?prune=true")
        .await
        .json()
        .await
        .unwrap();
    let deleted: Vec<&str> = outcome["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "deleted")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["web", "release-team"], "{outcome}");
    let (_, bundle) = fetch_bundle(&app, &reader).await;
    assert_eq!(bundle.policies().len(), 1);
    assert!(bundle.key_groups().is_empty());
    assert!(app.has_audit("policy.deleted", "policy:web").await);
}

/// The test database's address, for the CLI's --database-url.
fn database_url(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or_default()
    )
}

/// Runs the compiled `trustwatch` binary off the async runtime (the server it may talk to runs
/// on it).
async fn trustwatch(args: Vec<String>, env: Vec<(&'static str, String)>, dir: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_trustwatch"))
            .args(&args)
            .env_remove("TRUSTWATCH_SERVER")
            .env_remove("TRUSTWATCH_TOKEN")
            .env_remove("TRUSTWATCH_CONFIG")
            .env_remove("TRUSTWATCH_BUNDLE_KEY_FILE")
            .envs(env)
            .current_dir(dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_cli_manages_trust_data_on_the_database_and_through_a_server(pool: PgPool) {
    let app = spawn_app(pool).await;
    let url = database_url(&app.pool);
    let dir = std::env::temp_dir().join(format!("tw-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_env = vec![(
        "TRUSTWATCH_BUNDLE_KEY_FILE",
        app.bundle_key_file.to_str().unwrap().to_owned(),
    )];
    let run = |list: &[&str]| {
        let mut a = args(list);
        a.extend(["--database-url".to_owned(), url.clone()]);
        trustwatch(a, key_env.clone(), dir.clone())
    };

    let pub_file = dir.join("ci.pub");
    std::fs::write(&pub_file, public_pem(9)).unwrap();
    let out = run(&[
        "keys",
        "import",
        "--name",
        "ci-release",
        "--file",
        path(&pub_file),
        "--owner",
        "platform",
        "--custody",
        "hsm",
        "--valid-from",
        "2026-01-01",
        "--rotation-days",
        "180",
    ])
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("imported key \"ci-release\" (ed25519, sha256:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("published trust bundle version 2"),
        "{stdout}"
    );
    let key = service::keys::get(&app.pool, "ci-release")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.custody, "hsm");
    assert_eq!(key.rotation_period_days, Some(180));
    assert_eq!(key.valid_from.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'key.registered'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor, "cli");

    let policy_file = dir.join("policies.yaml");
    std::fs::write(
        &policy_file,
        "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: prod-images}\nspec:\n  images: [\"registry.example.com/**\"]\n  authorities: {keys: [ci-release]}\n",
    )
    .unwrap();
    let out = run(&["policy", "apply", "-f", path(&policy_file), "--dry-run"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("+++ applied/Policy/prod-images\n"),
        "{stdout}"
    );
    assert!(stdout.contains("policy prod-images: created"), "{stdout}");
    assert!(stdout.contains("dry run: nothing was stored"), "{stdout}");
    assert_eq!(bundle_versions(&app.pool).await, 2);
    let out = run(&["policy", "apply", "-f", path(&policy_file)]).await;
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains("published trust bundle version 3"),
        "{stdout}"
    );

    // Refusals exit non-zero and say why.
    let bad_file = dir.join("bad.yaml");
    std::fs::write(
        &bad_file,
        std::fs::read_to_string(&policy_file)
            .unwrap()
            .replace("ci-release", "nobody"),
    )
    .unwrap();
    let out = run(&["policy", "apply", "-f", path(&bad_file)]).await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert!(
        stderr.contains("documents[0].spec.authorities.keys[0]"),
        "{stderr}"
    );
    let out = run(&["keys", "set-status", "ci-release", "compromised"]).await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("needs the time it was compromised since"),
        "{stderr}"
    );

    let out = run(&[
        "keys",
        "set-status",
        "ci-release",
        "revoked",
        "--since",
        "now",
    ])
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("key \"ci-release\" is revoked"), "{stdout}");
    assert!(stdout.contains("version 4"), "{stdout}");
    let out = run(&["keys", "list"]).await;
    let (stdout, _) = text(&out);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ci-release") && l.contains("revoked")),
        "{stdout}"
    );

    let out = run(&["policy", "export"]).await;
    let (stdout, _) = text(&out);
    assert!(stdout.contains("name: prod-images"), "{stdout}");
    // For another engine: ci-release is revoked, so the policy can only refuse.
    let out = run(&["policy", "export", "--engine", "policy-controller"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("kind: ClusterImagePolicy"), "{stdout}");
    assert!(stdout.contains("action: fail"), "{stdout}");
    assert!(stderr.contains("--cache-ttl"), "{stderr}");

    // The bundle and its key, as an offline verifier gets them.
    let bundle_file = dir.join("bundle.json");
    let key_file = dir.join("bundle.pub");
    let out = run(&["bundle", "export", "--output", path(&bundle_file)]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let out = trustwatch(
        args(&["bundle", "key", "--output", path(&key_file)]),
        key_env.clone(),
        dir.clone(),
    )
    .await;
    assert!(out.status.success(), "{:?}", text(&out));
    let key = PublicKey::parse_pem(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let signed: SignedTrustBundle =
        serde_json::from_str(&std::fs::read_to_string(&bundle_file).unwrap()).unwrap();
    let bundle = signed
        .verify(std::slice::from_ref(&key), Utc::now())
        .unwrap();
    assert_eq!(bundle.version(), 4);
    assert_eq!(
        bundle.key("ci-release").unwrap().status(),
        KeyStatus::Revoked
    );

    // Through the server: an admin token for changes, a read token for the bundle.
    let admin = admin_token(&app).await;
    let reader = read_token(&app).await;
    let via = |list: &[&str], token: &str| {
        let mut a = args(list);
        a.extend(["--server".to_owned(), app.base.clone()]);
        trustwatch(a, vec![("TRUSTWATCH_TOKEN", token.to_owned())], dir.clone())
    };
    std::fs::write(&pub_file, public_pem(10)).unwrap();
    let out = via(
        &[
            "keys",
            "import",
            "--name",
            "web-release",
            "--file",
            path(&pub_file),
        ],
        &reader,
    )
    .await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("admin scope"), "{stderr}");
    let out = via(
        &[
            "keys",
            "import",
            "--name",
            "web-release",
            "--file",
            path(&pub_file),
        ],
        &admin,
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("owned by unassigned; published trust bundle version 5"),
        "{stdout}"
    );
    let out = via(&["keys", "set-status", "web-release", "retiring"], &admin).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let out = via(&["policy", "apply", "-f", path(&bad_file)], &admin).await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("documents[0].spec.authorities.keys[0]: no key named"),
        "{stderr}"
    );
    let out = via(
        &["policy", "apply", "-f", path(&policy_file), "--dry-run"],
        &admin,
    )
    .await;
    let (stdout, _) = text(&out);
    assert!(stdout.contains("policy prod-images: unchanged"), "{stdout}");
    let out = via(&["keys", "list", "--output", "json"], &reader).await;
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let server_bundle = dir.join("server-bundle.json");
    let out = via(&["bundle", "export", "-o", path(&server_bundle)], &reader).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let signed: SignedTrustBundle =
        serde_json::from_str(&std::fs::read_to_string(&server_bundle).unwrap()).unwrap();
    assert_eq!(
        signed
            .verify(std::slice::from_ref(&key), Utc::now())
            .unwrap()
            .version(),
        6
    );
    let out = via(&["bundle", "key"], &reader).await;
    assert_eq!(
        PublicKey::parse_pem(&String::from_utf8_lossy(&out.stdout)).unwrap(),
        key
    );
    let out = via(
        &["policy", "export", "--engine", "kyverno-cluster-policy"],
        &reader,
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("kind: ClusterPolicy"), "{stdout}");
    assert!(stdout.contains("name: tw-prod-images"), "{stdout}");

    // Another key file than the server's is refused before anything changes.
    let out = trustwatch(
        args(&[
            "keys",
            "set-status",
            "web-release",
            "revoked",
            "--database-url",
            &url,
        ]),
        vec![(
            "TRUSTWATCH_BUNDLE_KEY_FILE",
            path(&dir.join("other.key")).to_owned(),
        )],
        dir.clone(),
    )
    .await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("does not exist, but the server signs with key"),
        "{stderr}"
    );
    assert_eq!(bundle_versions(&app.pool).await, 6);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_demo_publishes_policies_and_a_bundle(pool: PgPool) {
    let app = spawn_app(pool).await;
    let report = service::demo::load(&app.pool, &app.publisher, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.policies, 4);
    let current = service::trust_bundle::current(&app.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(current.version), report.bundle_version);
    let bundle = &current.bundle;
    assert_eq!(bundle.keys().len(), 7);
    assert_eq!(bundle.key_groups().len(), 1);
    let modes: Vec<&str> = bundle
        .policies()
        .iter()
        .map(|p| p.mode().as_str())
        .collect();
    assert!(modes.contains(&"enforce") && modes.contains(&"warn") && modes.contains(&"audit"));
    assert_eq!(
        bundle.key("payments-legacy").unwrap().status(),
        KeyStatus::Compromised
    );
    let signed: SignedTrustBundle = serde_json::from_slice(&current.signed).unwrap();
    signed
        .verify(&[app.publisher.public_key()], Utc::now())
        .unwrap();
    // The demo's silent cluster and the compromised key's uses after its compromise are alerts.
    let open = service::alerts::list(
        &app.pool,
        &service::alerts::AlertFilter {
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rules: Vec<&str> = open.iter().map(|a| a.rule.as_str()).collect();
    assert!(rules.contains(&"cluster_silent"), "{rules:?}");
    assert!(rules.contains(&"revoked_key_use"), "{rules:?}");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn start_up_republishes_only_when_needed(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(bundle_versions(&app.pool).await, 1);
    // A second replica with the same key and settings publishes nothing.
    let settings = server::Settings {
        bundle_key_file: app.bundle_key_file.clone(),
        playbooks_dir: crate::helpers::repository_playbooks(),
        ..server::Settings::default()
    };
    server::build_router(app.pool.clone(), &settings)
        .await
        .unwrap();
    assert_eq!(bundle_versions(&app.pool).await, 1);
    // Another default action does, and says so.
    let settings = server::Settings {
        default_policy_action: domain::DefaultAction::Warn,
        ..settings
    };
    server::build_router(app.pool.clone(), &settings)
        .await
        .unwrap();
    let current = service::trust_bundle::current(&app.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.version, 2);
    assert_eq!(current.bundle.default_action(), domain::DefaultAction::Warn);
    let reason: String = sqlx::query_scalar("SELECT reason FROM trust_bundles WHERE version = 2")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(reason.contains("default action"), "{reason}");

    // A new key file (the operator replaced the key) is used at once, and says so.
    let settings = server::Settings {
        bundle_key_file: app.bundle_key_file.with_file_name("replaced.key"),
        ..settings
    };
    let parts = server::build_router(app.pool.clone(), &settings)
        .await
        .unwrap();
    let current = service::trust_bundle::current(&app.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.version, 3);
    let signed: SignedTrustBundle = serde_json::from_slice(&current.signed).unwrap();
    assert_eq!(
        &signed.key_fingerprint,
        parts.state.publisher.public_key().fingerprint()
    );
    assert_ne!(
        parts.state.publisher.public_key(),
        app.publisher.public_key()
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn concurrent_changes_get_consecutive_versions(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = admin_token(&app).await;
    let imports = (0..8u8).map(|i| {
        let app = &app;
        let admin = &admin;
        async move {
            import_key(app, admin, &format!("key-{i}"), i + 1)
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(imports).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM trust_bundles ORDER BY version")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(versions, (1..=9).collect::<Vec<i64>>());
    // Each version was built after the one before committed: key counts only grow, and the
    // newest has them all.
    let counts: Vec<i64> = sqlx::query_scalar(
        "SELECT json_array_length(document::json -> 'keys')::bigint FROM trust_bundles ORDER BY version",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(counts, (0..=8).collect::<Vec<i64>>());
}
