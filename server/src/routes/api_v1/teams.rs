//! Team ownership of namespaces, for the Rejections page's team filter:
//! `GET /api/v1/teams` (scope `read` or `admin`) lists every team with its namespaces, and
//! `PUT /api/v1/teams/{team}` (scope `admin`) sets a team's namespaces — kept in git beside the
//! namespaces themselves and pushed by CI, like policies.

use std::collections::BTreeMap;

use app::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use domain::TokenScope;
use serde::Deserialize;

use super::policies::VIEWERS;
use super::problem::Problem;
use super::Bearer;

pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<BTreeMap<String, Vec<String>>>, Problem> {
    bearer.require_any(&VIEWERS)?;
    Ok(Json(service::teams::list(&state.pool).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBody {
    namespaces: Vec<String>,
}

/// Answers with every team after the change, so a namespace moved from another team shows.
pub async fn put(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(team): Path<String>,
    body: Result<Json<PutBody>, JsonRejection>,
) -> Result<Json<BTreeMap<String, Vec<String>>>, Problem> {
    bearer.require(TokenScope::Admin)?;
    let body = super::keys::json_body(body)?;
    service::teams::set_namespaces(&state.pool, &bearer.actor(), &team, &body.namespaces).await?;
    Ok(Json(service::teams::list(&state.pool).await?))
}
