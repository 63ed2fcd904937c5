//! An incident's downloads: `GET /incidents/<id>/review.md` (the post-incident review as
//! Markdown) and `GET /incidents/<id>/blast-radius.csv` (what the key signed at or after T and
//! where it was admitted). Plain GETs so a link downloads them; like the CSV of Trends, the
//! handler checks the session's user itself rather than trusting the page middleware.

use app::auth::USER_ID_KEY;
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::Role;
use tower_sessions::Session;
use uuid::Uuid;

use super::api_v1::problem::Problem;

async fn require_viewer(state: &AppState, session: &Session) -> Result<(), Problem> {
    let user_id: Option<Uuid> = session.get(USER_ID_KEY).await.unwrap_or(None);
    let user = match user_id {
        Some(id) => service::users::find(&state.pool, id).await?,
        None => None,
    };
    match user {
        Some(u) if !u.disabled && u.role.grants(Role::Viewer) => Ok(()),
        _ => Err(Problem::unauthorized("log in to download incident records")),
    }
}

fn incident_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id).map_err(|_| Problem::not_found(format!("no incident {id:?}")))
}

fn download(content_type: &str, name: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

pub async fn file(
    State(state): State<AppState>,
    session: Session,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, Problem> {
    require_viewer(&state, &session).await?;
    let id = incident_id(&id)?;
    let incident = service::incidents::get(&state.pool, id).await?;
    let short = &id.to_string()[..8];
    match file.as_str() {
        "review.md" => {
            let review = service::incidents::review::assemble(&state.pool, &incident).await?;
            Ok(download(
                "text/markdown; charset=utf-8",
                format!("trustwatch-incident-{short}-review.md"),
                service::incidents::review::to_markdown(&incident, &review),
            ))
        }
        "blast-radius.csv" => {
            let (Some(fingerprint), Some(since)) = (
                &incident.row.key_fingerprint,
                incident.row.compromised_since,
            ) else {
                return Err(Problem::not_found(
                    "this incident is not about a key: it has no blast radius",
                ));
            };
            let radius =
                service::incidents::blast_radius::compute(&state.pool, fingerprint, since).await?;
            Ok(download(
                "text/csv; charset=utf-8",
                format!("trustwatch-incident-{short}-blast-radius.csv"),
                service::incidents::blast_radius::to_csv(&radius),
            ))
        }
        _ => Err(Problem::not_found(format!("no incident file {file:?}"))),
    }
}
