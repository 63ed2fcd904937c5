//! `POST /api/v1/clusters/heartbeat`: a cluster says it is alive, which engine enforces
//! signatures there, in which mode, and which trust-bundle version it runs.

use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::TokenScope;
use serde::Deserialize;

use super::problem::Problem;
use super::Bearer;

#[derive(Deserialize)]
pub struct HeartbeatBody {
    cluster: Option<String>,
    engine: Option<String>,
    enforcement_mode: Option<String>,
    bundle_version: Option<i64>,
}

pub async fn post(
    bearer: Bearer,
    State(state): State<AppState>,
    body: Result<Json<HeartbeatBody>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, Problem> {
    let token = bearer.require(TokenScope::IngestVerification)?;
    let Json(body) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(e.body_text()),
        _ => Problem::bad_request(e.body_text()),
    })?;
    let cluster = bearer.cluster_for(body.cluster)?;
    let engine = body
        .engine
        .map(|e| domain::Engine::parse(&e).map(|e| e.as_str().to_owned()))
        .transpose()
        .map_err(|e| Problem::invalid(format!("engine: {e}")))?;
    service::clusters::validate_name(&cluster)?;
    service::clusters::heartbeat(
        &state.pool,
        &bearer.actor(),
        &service::clusters::Heartbeat {
            cluster,
            engine,
            enforcement_mode: body.enforcement_mode,
            bundle_version: body.bundle_version,
        },
        token.may_register_clusters,
        chrono::Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
