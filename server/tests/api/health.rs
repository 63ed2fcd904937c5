use sqlx::PgPool;

use crate::helpers::{browser, location, spawn_app};

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn probes_answer_without_a_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = browser();
    let res = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ready");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn readiness_fails_when_the_database_is_gone(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    pool.close().await;
    let res = browser().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_page_needs_a_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = browser();
    for (path, expected) in [
        ("/", "/login"),
        ("/audit?actor=x", "/login?next=/audit%3Factor%3Dx"),
        ("/admin", "/login?next=/admin"),
        ("/keys", "/login?next=/keys"),
        ("/no-such-page", "/login?next=/no-such-page"),
    ] {
        let res = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), expected, "{path}");
    }
    let res = c.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("name=\"password\""));
}
