use domain::Role;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::spawn_app;

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_database_refuses_edits_to_the_audit_log(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.create_user("ada@example.org", Role::Viewer).await;
    let update = sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(&app.pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(&app.pool)
        .await;
    assert!(delete.is_err());
    let truncate = sqlx::query("TRUNCATE audit_log").execute(&app.pool).await;
    assert!(truncate.is_err());
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_audit_page_names_the_tampered_entry(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.logged_in("root@example.org", Role::Admin).await;
    for i in 0..3 {
        app.create_user(&format!("u{i}@example.org"), Role::Viewer)
            .await;
    }

    let res = app.server_fn(&admin, "audit", "").await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    let total = page["chain"]["Verified"]["entries"]
        .as_i64()
        .expect("chain verifies");
    assert!(total >= 5, "{page}");

    // Someone with table-owner rights rewrites history behind the application's back.
    let victim: i64 =
        sqlx::query_scalar("SELECT seq FROM audit_log WHERE target = 'user:u1@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET detail = '{\"role\": \"admin\"}' WHERE seq = $1")
        .bind(victim)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let res = app.server_fn(&admin, "audit", "").await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["chain"]["Broken"]["seq"], victim, "{page}");
    assert!(page["chain"]["Broken"]["explanation"]
        .as_str()
        .unwrap()
        .contains("altered"));

    // The rendered page says it too.
    let html = admin
        .get(app.url("/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("Hash chain broken at entry #<!>{victim}"))
            || html.contains(&format!("broken at entry #{victim}")),
        "{html}"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_deleted_entry_is_reported_as_missing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.logged_in("root@example.org", Role::Admin).await;
    for i in 0..3 {
        app.create_user(&format!("u{i}@example.org"), Role::Viewer)
            .await;
    }
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let page: Value = app
        .server_fn(&admin, "audit", "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["chain"]["Broken"]["seq"], 4, "{page}");
    assert!(page["chain"]["Broken"]["explanation"]
        .as_str()
        .unwrap()
        .contains("#3 to #3"));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn audit_filters_narrow_the_list(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.logged_in("root@example.org", Role::Admin).await;
    let _ = app
        .login(
            &crate::helpers::browser(),
            "root@example.org",
            "wrong wrong wrong",
        )
        .await;
    let page: Value = app
        .server_fn(&admin, "audit", "action=login_failed")
        .await
        .json()
        .await
        .unwrap();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["action"], "auth.login_failed");
}
