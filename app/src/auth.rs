//! Who is calling, and may they? The first line of every server function.

use domain::Role;
use leptos::prelude::use_context;
use tower_sessions::Session;
use uuid::Uuid;

use crate::error::{set_status, AppError};
use crate::state::AppState;

/// The session key under which the logged-in user's id is kept.
pub const USER_ID_KEY: &str = "user_id";

/// The logged-in person behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: service::users::User,
    pub source_ip: Option<String>,
}

impl Caller {
    pub fn actor(&self) -> service::Actor {
        service::Actor::user(&self.user.email, self.source_ip.clone())
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// Resolves the session's user and checks they hold `needed`. The user is read afresh from the
/// database, so disabling someone or changing their role takes effect on their next request.
pub async fn require(needed: Role) -> Result<Caller, AppError> {
    require_one_of(&[needed]).await
}

/// As [`require`], for actions several roles may take (changing keys and policies: security or
/// admin).
pub async fn require_one_of(allowed: &[Role]) -> Result<Caller, AppError> {
    let state = state()?;
    let session: Session = leptos_axum::extract().await.map_err(|_| {
        set_status(http::StatusCode::UNAUTHORIZED);
        AppError::Unauthenticated
    })?;
    let user_id: Option<Uuid> = session.get(USER_ID_KEY).await.unwrap_or(None);
    let user = match user_id {
        Some(id) => service::users::find(&state.pool, id).await?,
        None => None,
    };
    let Some(user) = user.filter(|u| !u.disabled) else {
        set_status(http::StatusCode::UNAUTHORIZED);
        return Err(AppError::Unauthenticated);
    };
    if !allowed.iter().any(|needed| user.role.grants(*needed)) {
        set_status(http::StatusCode::FORBIDDEN);
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        return Err(AppError::Forbidden(format!(
            "this needs the {} role; you are {}",
            names.join(" or "),
            user.role
        )));
    }
    let source_ip = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip().to_string());
    Ok(Caller { user, source_ip })
}
