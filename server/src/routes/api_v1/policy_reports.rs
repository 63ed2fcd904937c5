//! `POST /api/v1/policy-reports`: Kyverno PolicyReports/ClusterPolicyReports and OpenReports
//! documents (one, or a List), as the cluster has them. Image-verification results become
//! verification events; sending the same report again stores nothing new.

use app::state::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::Json;
use domain::TokenScope;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::{batch, verification_events, Bearer};

#[derive(Deserialize)]
pub struct Params {
    /// The reporting cluster, for a token not bound to one.
    cluster: Option<String>,
}

#[derive(Serialize)]
pub struct ReportResponse {
    accepted: u64,
    duplicates: u64,
    /// Results that were not about image verification.
    skipped: usize,
}

pub async fn post(
    bearer: Bearer,
    State(state): State<AppState>,
    Query(params): Query<Params>,
    body: Body,
) -> Result<Json<ReportResponse>, Problem> {
    let token = bearer.require(TokenScope::IngestVerification)?;
    let cluster = bearer.cluster_for(params.cluster)?;
    let now = chrono::Utc::now();
    let doc = batch::read_document(body).await?;
    let report = domain::policy_report::events_from_reports(&doc, &cluster, now)
        .map_err(|e| Problem::invalid(e.0))?;
    if report.events.len() > batch::MAX_BATCH {
        return Err(Problem::too_large(format!(
            "at most {} results per request; split the list",
            batch::MAX_BATCH
        )));
    }
    let events = batch::validate_all(&report.events, now, token.cluster.as_deref())?;
    let stored = verification_events::store(&state, &bearer, &events, now).await?;
    Ok(Json(ReportResponse {
        accepted: stored.accepted,
        duplicates: stored.duplicates,
        skipped: report.skipped,
    }))
}
