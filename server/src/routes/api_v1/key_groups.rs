//! Key groups for machines: `GET /api/v1/key-groups` (scope `read` or `admin`) and
//! `PUT /api/v1/key-groups/{name}` (scope `admin`; `?dry_run=true` only validates and diffs),
//! which creates the group or replaces its members as applying a `KeyGroup` document would.

use app::state::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use domain::TokenScope;
use serde::Deserialize;
use service::key_groups::KeyGroupView;
use service::policies::ApplyOutcome;

use super::policies::VIEWERS;
use super::problem::Problem;
use super::Bearer;

pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<KeyGroupView>>, Problem> {
    bearer.require_any(&VIEWERS)?;
    Ok(Json(service::key_groups::list(&state.pool).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBody {
    keys: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PutQuery {
    dry_run: bool,
}

pub async fn put(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<PutQuery>, QueryRejection>,
    body: Result<Json<PutBody>, JsonRejection>,
) -> Result<Json<ApplyOutcome>, Problem> {
    bearer.require(TokenScope::Admin)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let body = super::keys::json_body(body)?;
    let outcome = service::key_groups::put(
        &state.pool,
        &bearer.actor(),
        &state.publisher,
        &name,
        body.keys,
        query.dry_run,
    )
    .await?;
    Ok(Json(outcome))
}
