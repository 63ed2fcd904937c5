//! Keys for machines: `GET /api/v1/keys`, `GET /api/v1/keys/{name}` (scope `read` or `admin`),
//! `POST /api/v1/keys` (import a public key) and `PUT /api/v1/keys/{name}/status` (scope
//! `admin`). Every change publishes a new trust-bundle version.

use app::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::{KeyStatus, TokenScope};
use serde::Deserialize;
use service::keys::{Key, KeyChange, KeyImport, UNASSIGNED_OWNER};

use super::problem::Problem;
use super::Bearer;

const VIEWERS: [TokenScope; 2] = [TokenScope::Read, TokenScope::Admin];

/// A JSON body, or the problem that says why it is not one.
pub(super) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    body.map(|Json(b)| b).map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(e.body_text()),
        StatusCode::UNPROCESSABLE_ENTITY => Problem::invalid(e.body_text()),
        _ => Problem::bad_request(e.body_text()),
    })
}

pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<Key>>, Problem> {
    bearer.require_any(&VIEWERS)?;
    Ok(Json(service::keys::list(&state.pool).await?))
}

pub async fn get(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Key>, Problem> {
    bearer.require_any(&VIEWERS)?;
    service::keys::get(&state.pool, &name)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no key named {name:?}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    name: String,
    /// The public key, PEM (`-----BEGIN PUBLIC KEY-----`).
    public_key_pem: String,
    #[serde(default)]
    owner_team: Option<String>,
    #[serde(default)]
    custody: Option<String>,
    #[serde(default)]
    custody_uri: Option<String>,
    #[serde(default)]
    valid_from: Option<DateTime<Utc>>,
    #[serde(default)]
    valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    rotation_period_days: Option<i32>,
}

pub async fn import(
    bearer: Bearer,
    State(state): State<AppState>,
    body: Result<Json<ImportBody>, JsonRejection>,
) -> Result<(StatusCode, Json<KeyChange>), Problem> {
    bearer.require(TokenScope::Admin)?;
    let body = json_body(body)?;
    let change = service::keys::import(
        &state.pool,
        &bearer.actor(),
        &state.publisher,
        &KeyImport {
            name: body.name,
            public_key_pem: body.public_key_pem,
            owner_team: body.owner_team.unwrap_or_else(|| UNASSIGNED_OWNER.into()),
            custody: body.custody.unwrap_or_else(|| "file".into()),
            custody_uri: body.custody_uri,
            valid_from: body.valid_from,
            valid_until: body.valid_until,
            rotation_period_days: body.rotation_period_days,
        },
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(change)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
    #[serde(default)]
    since: Option<DateTime<Utc>>,
}

pub async fn set_status(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<StatusBody>, JsonRejection>,
) -> Result<Json<KeyChange>, Problem> {
    bearer.require(TokenScope::Admin)?;
    let body = json_body(body)?;
    let status = KeyStatus::parse(&body.status).map_err(|e| {
        Problem::invalid(format!(
            "status: {e}; expected active, retiring, revoked or compromised"
        ))
    })?;
    let change = service::keys::set_status(
        &state.pool,
        &bearer.actor(),
        &state.publisher,
        &name,
        status,
        body.since,
        Utc::now(),
    )
    .await?;
    Ok(Json(change))
}
