//! `POST /api/v1/admission-messages`: denial and warning texts of other engines (Kyverno,
//! sigstore policy-controller, Connaisseur, Ratify/Gatekeeper, Kubewarden) with their context,
//! classified into reason codes (`domain::classify`) and stored as verification events.

use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use domain::wire::RawAdmissionMessage;
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
    let events = batch::read(body, |raw: RawAdmissionMessage| {
        raw.validate(now, token.cluster.as_deref())
    })
    .await?;
    verification_events::store(&state, &bearer, &events, now)
        .await
        .map(Json)
}
