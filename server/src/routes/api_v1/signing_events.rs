//! `POST /api/v1/signing-events`: key usage from CI pipelines and signers. The time Trustwatch
//! records is the trusted one; the signer's claimed time is kept beside it.

use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use domain::wire::RawSigningEvent;
use domain::TokenScope;

use super::problem::Problem;
use super::verification_events::IngestResponse;
use super::{batch, Bearer};

pub async fn post(
    bearer: Bearer,
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<IngestResponse>, Problem> {
    bearer.require(TokenScope::IngestSigning)?;
    let now = chrono::Utc::now();
    let events = batch::read(body, |raw: RawSigningEvent| raw.validate(now)).await?;
    let started = std::time::Instant::now();
    let report = service::ingest::record_signing_events(&state.pool, &events, now).await?;
    crate::instruments::INGESTION.record(
        crate::instruments::IngestKind::Signing,
        started.elapsed(),
        &report,
    );
    Ok(Json(report.into()))
}
