use domain::Role;
use sqlx::PgPool;

use crate::helpers::{browser, location, spawn_app, spawn_app_with, PASSWORD};

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn login_succeeds_with_a_new_session_and_is_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    let c = browser();

    // A session id planted before login must not survive it.
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(location(&res), "/login");

    let res = app.login(&c, "Ada@Example.org", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("trustwatch_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP must not set Secure: {cookie}"
    );

    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("ada@example.org"));
    assert!(
        app.has_audit("auth.login_succeeded", "user:ada@example.org")
            .await
    );
    let last_login: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_login_at FROM users WHERE email = 'ada@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(last_login.is_some());
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn secure_cookies_behind_tls(pool: PgPool) {
    let settings = server::Settings {
        secure_cookies: true,
        ..Default::default()
    };
    let app = spawn_app_with(pool, settings).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    let res = app.login(&browser(), "ada@example.org", PASSWORD).await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn wrong_password_is_refused_and_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    let c = browser();
    let res = app
        .login(&c, "ada@example.org", "not the right password")
        .await;
    assert_eq!(location(&res), "/login?error=credentials");
    assert!(res.headers().get("set-cookie").is_none());
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(location(&res), "/login", "no session after a failed login");
    let audit = app.audit_actions().await;
    let failed = audit
        .iter()
        .find(|(a, t, _)| a == "auth.login_failed" && t == "user:ada@example.org")
        .expect("failure audited");
    assert_eq!(failed.2["reason"], "wrong_password");
    // The password itself never reaches the audit log.
    assert!(!audit
        .iter()
        .any(|(_, _, d)| d.to_string().contains("not the right")));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn unknown_user_gets_the_same_answer(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.login(&browser(), "nobody@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/login?error=credentials");
    let audit = app.audit_actions().await;
    let failed = audit
        .iter()
        .find(|(a, t, _)| a == "auth.login_failed" && t == "user:nobody@example.org")
        .expect("failure audited");
    assert_eq!(failed.2["reason"], "unknown_account");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn disabled_accounts_cannot_log_in(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    sqlx::query("UPDATE users SET disabled = true")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app.login(&browser(), "ada@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/login?error=credentials");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn repeated_failures_throttle_the_account(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    let c = browser();
    for _ in 0..5 {
        let res = app.login(&c, "ada@example.org", "guess guess guess").await;
        assert_eq!(location(&res), "/login?error=credentials");
    }
    // Even the right password is refused now, with a clear answer.
    let res = app.login(&c, "ada@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/login?error=throttled&minutes=15");
    assert!(
        app.has_audit("auth.login_throttled", "user:ada@example.org")
            .await
    );
    // Another account from the same address is not locked by this account's failures.
    app.create_user("bob@example.org", Role::Viewer).await;
    let res = app.login(&c, "bob@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn repeated_failures_throttle_the_address(pool: PgPool) {
    let settings = server::Settings {
        login_max_failures_per_address: 4,
        ..Default::default()
    };
    let app = spawn_app_with(pool, settings).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    let c = browser();
    for i in 0..4 {
        let res = app
            .login(&c, &format!("guess{i}@example.org"), "whatever whatever")
            .await;
        assert_eq!(location(&res), "/login?error=credentials");
    }
    let res = app.login(&c, "ada@example.org", PASSWORD).await;
    assert!(
        location(&res).starts_with("/login?error=throttled"),
        "{}",
        location(&res)
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn logout_ends_the_session_for_good(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.logged_in("ada@example.org", Role::Viewer).await;
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let res = c
        .post(app.url("/logout"))
        .header("Origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?loggedout=1");
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(location(&res), "/login");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        sessions, 0,
        "the session is deleted, not just forgotten by the browser"
    );
    assert!(app.has_audit("auth.logout", "user:ada@example.org").await);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_one_time_password_must_be_changed_first(pool: PgPool) {
    let app = spawn_app(pool).await;
    service::users::create(
        &app.pool,
        &service::Actor::cli(),
        "new@example.org",
        Role::Viewer,
        PASSWORD,
        true,
    )
    .await
    .unwrap();
    let c = browser();
    let res = app.login(&c, "new@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/account");
    let res = c.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(location(&res), "/account");

    let res = app
        .server_fn(&c, "account/password", "current=correct+horse+battery+staple&new_password=a+brand+new+passphrase&confirm=a+brand+new+passphrase")
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        app.has_audit("user.password_changed", "user:new@example.org")
            .await
    );
    let res = app
        .login(&browser(), "new@example.org", "a brand new passphrase")
        .await;
    assert_eq!(location(&res), "/");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn state_changes_from_other_origins_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.logged_in("root@example.org", Role::Admin).await;
    let body = "email=mallory%40example.org&role=admin&password=mallory+mallory+mallory";
    for origin in [Some("http://evil.example"), None] {
        let mut req = c
            .post(app.url("/ui/admin/create_user"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "origin {origin:?}");
    }
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE email = 'mallory@example.org')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!exists);
    // The same request from the site itself goes through.
    let res = app.server_fn(&c, "admin/create_user", body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}
