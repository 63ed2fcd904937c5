use domain::Role;
use sqlx::PgPool;

use crate::helpers::{browser, location, spawn_app};

async fn user_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_viewer_is_refused_admin_actions_and_nothing_changes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let viewer = app.logged_in("viewer@example.org", Role::Viewer).await;
    let before = user_count(&app.pool).await;
    let audit_before = app.audit_actions().await.len();

    let res = app
        .server_fn(
            &viewer,
            "admin/create_user",
            "email=eve%40example.org&role=admin&password=eve+eve+eve+eve+eve",
        )
        .await;
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(body.contains("needs the admin role"), "{body}");
    assert_eq!(user_count(&app.pool).await, before);

    // Promoting oneself is an admin action too.
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'viewer@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app
        .server_fn(
            &viewer,
            "admin/set_role",
            &format!("user_id={id}&role=admin"),
        )
        .await;
    assert_eq!(res.status(), 403);
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, "viewer");

    for endpoint in ["admin/users", "admin/tokens", "audit"] {
        let res = app.server_fn(&viewer, endpoint, "").await;
        assert_eq!(res.status(), 403, "{endpoint}");
    }
    assert_eq!(
        app.audit_actions().await.len(),
        audit_before,
        "a refusal changes nothing"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn server_functions_need_a_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.server_fn(&browser(), "overview", "").await;
    assert_eq!(res.status(), 401);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn an_admin_manages_people_and_every_change_is_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.logged_in("root@example.org", Role::Admin).await;

    let res = app
        .server_fn(
            &admin,
            "admin/create_user",
            "email=sam%40example.org&role=developer&password=one+time+password",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(app.has_audit("user.created", "user:sam@example.org").await);

    // A duplicate is a clear conflict.
    let res = app
        .server_fn(
            &admin,
            "admin/create_user",
            "email=SAM%40example.org&role=viewer&password=one+time+password",
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("already exists"));

    // A weak password is refused with the rule.
    let res = app
        .server_fn(
            &admin,
            "admin/create_user",
            "email=tim%40example.org&role=viewer&password=short",
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("at least 12 characters"));

    let sam: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'sam@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app
        .server_fn(
            &admin,
            "admin/set_role",
            &format!("user_id={sam}&role=security"),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (_, _, detail) = app
        .audit_actions()
        .await
        .into_iter()
        .find(|(a, _, _)| a == "user.role_changed")
        .expect("role change audited");
    assert_eq!(detail["from"], "developer");
    assert_eq!(detail["to"], "security");

    // Sam logs in, then is disabled: the live session stops working at once.
    let sam_client = browser();
    let res = app
        .login(&sam_client, "sam@example.org", "one time password")
        .await;
    assert_eq!(
        location(&res),
        "/account",
        "a password set by an admin must be changed"
    );
    let res = app
        .server_fn(
            &admin,
            "admin/set_user_disabled",
            &format!("user_id={sam}&disabled=true"),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(app.has_audit("user.disabled", "user:sam@example.org").await);
    let res = app.server_fn(&sam_client, "me", "").await;
    assert_eq!(res.status(), 401);

    // The last admin cannot be demoted or disabled.
    let root: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'root@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app
        .server_fn(
            &admin,
            "admin/set_role",
            &format!("user_id={root}&role=viewer"),
        )
        .await;
    assert_eq!(res.status(), 409);
}
