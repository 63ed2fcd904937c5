//! Bearer-token authentication for machine clients.

use app::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use domain::TokenScope;
use service::tokens::TokenPrincipal;

use super::problem::Problem;

/// The token a request presented, resolved and not revoked. Handlers then call `require`.
pub struct Bearer(pub TokenPrincipal);

impl Bearer {
    /// The token as the audit log names it.
    pub fn actor(&self) -> service::Actor {
        service::Actor {
            label: format!("token:{}", self.0.name),
            source_ip: None,
        }
    }

    /// Refuses with 403 unless the token carries `scope`.
    pub fn require(&self, scope: TokenScope) -> Result<&TokenPrincipal, Problem> {
        if self.0.allows(scope) {
            Ok(&self.0)
        } else {
            Err(Problem::forbidden(format!(
                "token {:?} lacks the {scope} scope",
                self.0.name
            )))
        }
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Problem::unauthorized("send a token as Authorization: Bearer <token>")
            })?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must use the Bearer scheme")
            })?;
        match service::tokens::authenticate(&state.pool, token).await? {
            Some(principal) => Ok(Bearer(principal)),
            None => Err(Problem::unauthorized("the token is unknown or revoked")),
        }
    }
}
