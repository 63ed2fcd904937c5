use domain::Role;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{browser, spawn_app};

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn an_admin_creates_a_token_shown_once_and_stored_as_a_hash(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.logged_in("root@example.org", Role::Admin).await;

    // Exactly what the form sends: checkboxes named scopes[].
    let res = app
        .server_fn(
            &admin,
            "admin/create_token",
            "name=prod-eu-1+reporter&scopes[]=ingest:verification&scopes[]=read&cluster=prod-eu-1",
        )
        .await;
    assert_eq!(res.status(), 200);
    let created: Value = res.json().await.unwrap();
    let value = created["value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("tw_") && value.len() > 40, "{value}");

    let (hash, prefix, scopes, cluster): (Vec<u8>, String, Vec<String>, Option<String>) = sqlx::query_as(
        "SELECT t.token_hash, t.token_prefix, t.scopes, c.name FROM api_tokens t LEFT JOIN clusters c ON c.id = t.cluster_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(hash.len(), 32);
    assert_ne!(hash, value.as_bytes());
    assert!(value.starts_with(&prefix));
    assert_eq!(scopes, vec!["ingest:verification", "read"]);
    assert_eq!(cluster.as_deref(), Some("prod-eu-1"));

    // The list never shows the value.
    let res = app.server_fn(&admin, "admin/tokens", "").await;
    let listed = res.text().await.unwrap();
    assert!(listed.contains("prod-eu-1 reporter"));
    assert!(!listed.contains(&value));

    let audit = app.audit_actions().await;
    let (_, _, detail) = audit
        .iter()
        .find(|(a, t, _)| a == "token.created" && t == "token:prod-eu-1 reporter")
        .expect("token creation audited");
    assert_eq!(detail["cluster"], "prod-eu-1");
    assert!(
        !audit.iter().any(|(_, _, d)| d.to_string().contains(&value)),
        "the value is never audited"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn tokens_are_checked_for_scope_and_revocation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let cli = service::Actor::cli();
    let (_, signer) = service::tokens::create(
        &app.pool,
        &cli,
        "ci",
        &[domain::TokenScope::IngestSigning],
        None,
        false,
    )
    .await
    .unwrap();
    let (reader_token, reader) = service::tokens::create(
        &app.pool,
        &cli,
        "dash",
        &[domain::TokenScope::Read],
        None,
        false,
    )
    .await
    .unwrap();
    let c = browser();

    let res = c.get(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let res = c
        .get(app.url("/api/v1/clusters"))
        .bearer_auth(signer.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["status"], 403);
    assert!(problem["detail"].as_str().unwrap().contains("read"));

    let res = c
        .get(app.url("/api/v1/clusters"))
        .bearer_auth(reader.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = c
        .get(app.url("/metrics"))
        .bearer_auth(reader.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("trustwatch_build_info"));
    let res = c
        .get(app.url("/metrics"))
        .bearer_auth(signer.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let last_used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE name = 'dash'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(last_used.is_some(), "last use is recorded");

    service::tokens::revoke(&app.pool, &cli, reader_token.id)
        .await
        .unwrap();
    assert!(app.has_audit("token.revoked", "token:dash").await);
    let res = c
        .get(app.url("/api/v1/clusters"))
        .bearer_auth(reader.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_viewer_cannot_create_tokens(pool: PgPool) {
    let app = spawn_app(pool).await;
    let viewer = app.logged_in("viewer@example.org", Role::Viewer).await;
    let res = app
        .server_fn(&viewer, "admin/create_token", "name=sneaky&scopes[]=read")
        .await;
    assert_eq!(res.status(), 403);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
