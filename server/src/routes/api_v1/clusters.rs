//! `GET /api/v1/clusters`: the clusters reporting to Trustwatch and when they last did.

use app::state::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::TokenScope;
use serde::Serialize;

use super::problem::Problem;
use super::Bearer;

#[derive(Serialize)]
pub struct ClusterDto {
    name: String,
    environment: String,
    engine: Option<String>,
    enforcement_mode: Option<String>,
    bundle_version: Option<i64>,
    last_report_at: Option<DateTime<Utc>>,
}

pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<ClusterDto>>, Problem> {
    bearer.require(TokenScope::Read)?;
    let clusters = service::clusters::list(&state.pool).await?;
    Ok(Json(
        clusters
            .into_iter()
            .map(|c| ClusterDto {
                name: c.name,
                environment: c.environment,
                engine: c.engine,
                enforcement_mode: c.enforcement_mode,
                bundle_version: c.bundle_version,
                last_report_at: c.last_report_at,
            })
            .collect(),
    ))
}
