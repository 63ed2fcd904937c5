//! `GET /trends/<chart>.csv?range=30d`: the numbers of one Trends chart, for a spreadsheet. A
//! plain GET rather than a server function, so a link downloads it. It is a page-like route:
//! `require_session` already sends a browser without a session to the login form; the handler
//! checks the session's user again because that middleware is not what keeps people out.

use app::auth::USER_ID_KEY;
use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::Role;
use serde::Deserialize;
use service::trends::{TrendChart, TrendRange, Window};
use tower_sessions::Session;
use uuid::Uuid;

use super::api_v1::problem::Problem;

#[derive(Debug, Deserialize)]
pub struct CsvQuery {
    range: Option<String>,
}

pub async fn csv(
    State(state): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    Query(query): Query<CsvQuery>,
) -> Result<Response, Problem> {
    let user_id: Option<Uuid> = session.get(USER_ID_KEY).await.unwrap_or(None);
    let user = match user_id {
        Some(id) => service::users::find(&state.pool, id).await?,
        None => None,
    };
    match user {
        Some(u) if !u.disabled && u.role.grants(Role::Viewer) => {}
        _ => return Err(Problem::unauthorized("log in to download trends")),
    }
    let chart = file
        .strip_suffix(".csv")
        .and_then(TrendChart::parse)
        .ok_or_else(|| Problem::not_found(format!("no trends chart {file:?}")))?;
    let range = match query.range.as_deref() {
        Some(r) => TrendRange::parse(r)?,
        None => TrendRange::default(),
    };
    let now = chrono::Utc::now();
    let data = service::trends::load(&state.pool, chart, Window::ending_at(range, now)).await?;
    let name = format!(
        "trustwatch-{}-{}-{}.csv",
        chart.slug(),
        range.as_str(),
        now.format("%Y%m%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        service::trends::to_csv(&data),
    )
        .into_response())
}
