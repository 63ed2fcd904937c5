//! Every page needs a logged-in, enabled user. Unauthenticated page requests go to the login
//! form (and come back afterwards); a user on a one-time password goes to their account page
//! first. Server functions check the session and role themselves (`app::auth::require`).

use app::auth::USER_ID_KEY;
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use uuid::Uuid;

/// Paths anyone may fetch: the login form, probes, static files, and routes that authenticate
/// by other means (machine tokens, server functions).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/readyz" | "/metrics" | "/favicon.ico"
    ) || ["/pkg/", "/api/v1/", "/ui/", "/k8s/", "/assets/"]
        .iter()
        .any(|p| path.starts_with(p))
}

pub async fn require_session(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if is_public(&path) || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let user_id: Option<Uuid> = session.get(USER_ID_KEY).await.unwrap_or(None);
    let user = match user_id {
        Some(id) => service::users::find(&state.pool, id)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "could not load the session's user");
                None
            }),
        None => None,
    };
    match user {
        Some(u) if !u.disabled => {
            if u.must_change_password && path != "/account" {
                return Redirect::to("/account").into_response();
            }
            next.run(req).await
        }
        _ => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into());
            let login = if target == "/" {
                "/login".to_owned()
            } else {
                format!("/login?next={}", crate::routes::login::urlencode(&target))
            };
            Redirect::to(&login).into_response()
        }
    }
}
