//! Policies as code for machines: `POST /api/v1/policies/apply` (scope `admin`; `?dry_run=true`
//! only validates and diffs, `?prune=true` deletes what the file does not contain),
//! `GET /api/v1/policies/export` (multi-document YAML) and `GET /api/v1/policies` (a list), both
//! for `read` or `admin`.

use app::state::AppState;
use axum::extract::rejection::{QueryRejection, StringRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::TokenScope;
use serde::Deserialize;
use service::policies::{ApplyError, ApplyOptions, ApplyOutcome, PolicySummary};

use super::problem::Problem;
use super::Bearer;

pub const VIEWERS: [TokenScope; 2] = [TokenScope::Read, TokenScope::Admin];

impl From<ApplyError> for Problem {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Invalid(problems) => Problem::documents(&problems),
            ApplyError::Service(e) => e.into(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ApplyQuery {
    dry_run: bool,
    prune: bool,
}

/// The body is the file as it is: YAML documents separated by `---` (JSON is YAML too).
pub async fn apply(
    bearer: Bearer,
    State(state): State<AppState>,
    query: Result<Query<ApplyQuery>, QueryRejection>,
    body: Result<String, StringRejection>,
) -> Result<Json<ApplyOutcome>, Problem> {
    bearer.require(TokenScope::Admin)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let body = body.map_err(|e| match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(e.body_text()),
        _ => Problem::bad_request(e.body_text()),
    })?;
    let outcome = service::policies::apply(
        &state.pool,
        &bearer.actor(),
        &state.publisher,
        &body,
        ApplyOptions {
            dry_run: query.dry_run,
            prune: query.prune,
        },
    )
    .await?;
    Ok(Json(outcome))
}

pub async fn export(bearer: Bearer, State(state): State<AppState>) -> Result<Response, Problem> {
    bearer.require_any(&VIEWERS)?;
    let yaml = service::policies::export(&state.pool).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        yaml,
    )
        .into_response())
}

pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<PolicySummary>>, Problem> {
    bearer.require_any(&VIEWERS)?;
    Ok(Json(service::policies::list(&state.pool).await?))
}
