//! Every server function against every role: who may call it is decided at the server, never by
//! what the page shows. Each call below is well formed but fails harmlessly when allowed (a bad
//! value, an unknown id), so the matrix changes nothing; a refused call must answer 403, an
//! allowed one anything but 401 or 403. A server function missing from the matrix fails the test.

use domain::Role;
use sqlx::PgPool;

use crate::helpers::{browser, spawn_app};

#[derive(Clone, Copy, Debug)]
enum Who {
    Everyone,
    SecurityOrAdmin,
    Admin,
    AuditorOrAdmin,
}

impl Who {
    fn allows(self, role: Role) -> bool {
        match self {
            Who::Everyone => true,
            Who::SecurityOrAdmin => matches!(role, Role::Security | Role::Admin),
            Who::Admin => role == Role::Admin,
            Who::AuditorOrAdmin => matches!(role, Role::Auditor | Role::Admin),
        }
    }
}

const FP: &str = "sha256%3A0000000000000000000000000000000000000000000000000000000000000000";
const ID: &str = "0190b3c4-0000-7000-8000-000000000000";

fn matrix() -> Vec<(&'static str, String, Who)> {
    use Who::*;
    vec![
        ("overview", String::new(), Everyone),
        ("me", String::new(), Everyone),
        (
            "account/password",
            "current=x&new_password=one+long+password&confirm=another+long+password".into(),
            Everyone,
        ),
        ("rejections/list", String::new(), Everyone),
        ("rejections/get", format!("id={ID}"), Everyone),
        ("images/search", "q=nothing".into(), Everyone),
        ("images/get", format!("digest={FP}"), Everyone),
        ("images/history", format!("digest={FP}"), Everyone),
        ("keys/list", String::new(), Everyone),
        ("keys/get", format!("fingerprint={FP}"), Everyone),
        ("keys/signed_images", format!("fingerprint={FP}"), Everyone),
        (
            "keys/import",
            "name=k&owner_team=t&custody=file&public_key_pem=not+a+key".into(),
            SecurityOrAdmin,
        ),
        (
            "keys/set_status",
            "name=missing&status=bogus".into(),
            SecurityOrAdmin,
        ),
        ("policies/list", String::new(), Everyone),
        (
            "policies/apply",
            "documents=%5B&dry_run=true".into(),
            SecurityOrAdmin,
        ),
        ("policies/what_if", "key=nobody".into(), SecurityOrAdmin),
        ("trends", "range=7d".into(), Everyone),
        ("alerts/list", String::new(), Everyone),
        ("alerts/acknowledge", format!("id={ID}"), SecurityOrAdmin),
        ("incidents/list", String::new(), Everyone),
        ("incidents/get", format!("id={ID}"), Everyone),
        (
            "incidents/declare",
            "playbook=nope&title=t&severity=high&commander=nobody".into(),
            SecurityOrAdmin,
        ),
        (
            "incidents/act",
            format!("incident={ID}&step=declare&command=bogus"),
            SecurityOrAdmin,
        ),
        (
            "incidents/comment",
            format!("incident={ID}&body=hello"),
            SecurityOrAdmin,
        ),
        ("incidents/close", format!("incident={ID}"), SecurityOrAdmin),
        ("audit", String::new(), AuditorOrAdmin),
        ("admin/users", String::new(), Admin),
        ("admin/tokens", String::new(), Admin),
        (
            "admin/create_user",
            "email=eve%40example.org&role=viewer&password=short".into(),
            Admin,
        ),
        ("admin/create_token", "name=t&scopes[0]=bogus".into(), Admin),
        ("admin/revoke_token", "token_id=nope".into(), Admin),
        ("admin/set_role", "user_id=nope&role=viewer".into(), Admin),
        (
            "admin/set_user_disabled",
            "user_id=nope&disabled=true".into(),
            Admin,
        ),
    ]
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_server_function_checks_the_role_at_the_server(pool: PgPool) {
    let app = spawn_app(pool).await;
    let matrix = matrix();

    // The matrix covers every server function the app registers.
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/ui/").to_owned())
        .collect();
    for path in &registered {
        assert!(
            matrix.iter().any(|(endpoint, _, _)| endpoint == path),
            "server function /ui/{path} is not in the authorization matrix"
        );
    }
    assert_eq!(registered.len(), matrix.len(), "{registered:?}");

    let users_before: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for role in Role::ALL {
        let client = app
            .logged_in(&format!("{}@example.org", role.as_str()), role)
            .await;
        for (endpoint, body, who) in &matrix {
            let res = app.server_fn(&client, endpoint, body).await;
            let status = res.status().as_u16();
            if who.allows(role) {
                assert!(
                    status != 401 && status != 403,
                    "{role} may call {endpoint} ({who:?}) but got {status}: {}",
                    res.text().await.unwrap()
                );
            } else {
                assert_eq!(status, 403, "{role} must be refused {endpoint} ({who:?})");
            }
        }
    }
    for (endpoint, body, _) in &matrix {
        let res = app.server_fn(&browser(), endpoint, body).await;
        assert_eq!(res.status(), 401, "{endpoint} without a session");
    }
    let users_after: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        users_after,
        users_before + Role::ALL.len() as i64,
        "only the test's own logins"
    );
}
