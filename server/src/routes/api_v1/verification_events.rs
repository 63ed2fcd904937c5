//! `POST /api/v1/verification-events`: admission outcomes in Trustwatch's native format.

use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use domain::wire::RawVerificationEvent;
use domain::TokenScope;
use serde::Serialize;

use super::problem::Problem;
use super::{batch, Bearer};

#[derive(Debug, Serialize)]
pub struct IngestResponse {
    pub accepted: u64,
    pub duplicates: u64,
}

impl From<service::ingest::IngestReport> for IngestResponse {
    fn from(r: service::ingest::IngestReport) -> Self {
        Self {
            accepted: r.accepted,
            duplicates: r.duplicates,
        }
    }
}

pub async fn post(
    bearer: Bearer,
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<IngestResponse>, Problem> {
    let token = bearer.require(TokenScope::IngestVerification)?;
    let now = chrono::Utc::now();
    let events = batch::read(body, |raw: RawVerificationEvent| {
        raw.validate(now, token.cluster.as_deref())
    })
    .await?;
    store(&state, &bearer, &events, now).await.map(Json)
}

/// Stores validated events for the token, as every verification-event endpoint does.
pub(super) async fn store(
    state: &AppState,
    bearer: &Bearer,
    events: &[domain::VerificationEvent],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<IngestResponse, Problem> {
    let started = std::time::Instant::now();
    let report = service::ingest::record_verification_events(
        &state.pool,
        &bearer.actor(),
        events,
        now,
        bearer.0.may_register_clusters,
    )
    .await?;
    crate::instruments::INGESTION.record(
        crate::instruments::IngestKind::Verification,
        started.elapsed(),
        &report,
    );
    Ok(report.into())
}
