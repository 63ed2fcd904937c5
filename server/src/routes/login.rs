//! Logging in and out with plain HTML forms, so both work before (or without) hydration.

use std::net::SocketAddr;

use app::auth::USER_ID_KEY;
use app::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::Form;
use secrecy::SecretString;
use serde::Deserialize;
use service::login::LoginError;
use tower_sessions::Session;
use uuid::Uuid;

use super::client_ip::client_ip;

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Redirect {
    let ip = client_ip(state.trust_forwarded_for, peer, &headers);
    let next = safe_next(&form.next);
    let back = |error: &str, extra: &str| {
        let next = if next == "/" {
            String::new()
        } else {
            format!("&next={}", urlencode(next))
        };
        Redirect::to(&format!("/login?error={error}{extra}{next}"))
    };
    let result = service::login::login(
        &state.pool,
        &state.throttle,
        &form.email,
        SecretString::from(form.password),
        &ip,
    )
    .await;
    match result {
        Ok(user) => {
            // A fresh session id at login, so an id planted before login is worthless after it.
            if let Err(e) = session.cycle_id().await {
                tracing::error!(error = %e, "could not renew the session id");
                return back("unavailable", "");
            }
            if let Err(e) = session.insert(USER_ID_KEY, user.id).await {
                tracing::error!(error = %e, "could not store the session");
                return back("unavailable", "");
            }
            tracing::info!(user = %user.email, "logged in");
            if user.must_change_password {
                Redirect::to("/account")
            } else {
                Redirect::to(next)
            }
        }
        Err(LoginError::InvalidCredentials) => back("credentials", ""),
        Err(LoginError::Throttled { retry_after }) => back(
            "throttled",
            &format!(
                "&minutes={}",
                service::login::minutes_rounded_up(retry_after)
            ),
        ),
        Err(LoginError::Service(e)) => {
            tracing::error!(error = %e, "login failed");
            back("unavailable", "")
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Redirect {
    let user_id: Option<Uuid> = session.get(USER_ID_KEY).await.unwrap_or(None);
    if let Some(id) = user_id {
        if let Ok(Some(user)) = service::users::find(&state.pool, id).await {
            let actor = service::Actor::user(
                &user.email,
                Some(client_ip(state.trust_forwarded_for, peer, &headers)),
            );
            if let Err(e) = service::login::logout(&state.pool, &actor, &user.email).await {
                tracing::error!(error = %e, "could not audit a logout");
            }
        }
    }
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not delete the session");
    }
    Redirect::to("/login?loggedout=1")
}

/// Only a local path may follow a login; anything else (`//evil.example`, `https://…`) is an
/// open redirect and becomes `/`.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/login");
    if local {
        next
    } else {
        "/"
    }
}

/// Percent-encodes a local path for a `next=` parameter (`/` kept readable).
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_a_login() {
        assert_eq!(safe_next("/audit?actor=x"), "/audit?actor=x");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("/login?next=/x"), "/");
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(urlencode("/audit?a=b&c"), "/audit%3Fa%3Db%26c");
    }
}
