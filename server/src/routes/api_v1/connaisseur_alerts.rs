//! `POST /api/v1/connaisseur-alerts`: Connaisseur's alert webhook (see `domain::connaisseur`).

use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use domain::connaisseur::ConnaisseurAlert;
use domain::TokenScope;

use super::problem::Problem;
use super::verification_events::{self, IngestResponse};
use super::{batch, Bearer};

pub async fn post(
    bearer: Bearer,
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<IngestResponse>, Problem> {
    let token = bearer.require(TokenScope::IngestVerification)?;
    let now = chrono::Utc::now();
    let alert: ConnaisseurAlert = serde_json::from_value(batch::read_document(body).await?)
        .map_err(|e| Problem::invalid(format!("not a Connaisseur alert payload: {e}")))?;
    let raws = alert
        .events(token.cluster.as_deref(), now)
        .map_err(|e| Problem::invalid(e.0))?;
    let events = batch::validate_all(&raws, now, token.cluster.as_deref())?;
    verification_events::store(&state, &bearer, &events, now)
        .await
        .map(Json)
}
