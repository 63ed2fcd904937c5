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

    /// The cluster a request reports for: the one it names, which must be the token's own when
    /// the token is bound to one, or else the token's cluster.
    pub fn cluster_for(&self, named: Option<String>) -> Result<String, Problem> {
        match (
            named.filter(|c| !c.trim().is_empty()),
            self.0.cluster.as_deref(),
        ) {
            (Some(c), Some(bound)) if c != bound => Err(Problem::forbidden(format!(
                "this token may only report for cluster {bound:?}"
            ))),
            (Some(c), _) => Ok(c),
            (None, Some(bound)) => Ok(bound.to_owned()),
            (None, None) => Err(Problem::invalid(
                "name the cluster (this token is not bound to one)",
            )),
        }
    }

    /// Refuses with 403 unless the token carries one of `scopes`.
    pub fn require_any(&self, scopes: &[TokenScope]) -> Result<&TokenPrincipal, Problem> {
        if scopes.iter().any(|s| self.0.allows(*s)) {
            Ok(&self.0)
        } else {
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            Err(Problem::forbidden(format!(
                "token {:?} needs one of the scopes {}",
                self.0.name,
                names.join(", ")
            )))
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
