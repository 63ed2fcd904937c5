//! `GET /trends/<chart>.csv?range=30d`: the numbers of one Trends chart, for a spreadsheet; and
//! `GET /trends/<chart>.svg?range=30d`: the chart drawn, the image the Trends page shows (kept
//! out of the page so its HTML and hydration data do not carry every SVG twice). Plain GETs
//! rather than server functions, so a link downloads and an `<img>` loads them. They are
//! page-like routes: `require_session` already sends a browser without a session to the login
//! form; the handler checks the session's user again because that middleware is not what keeps
//! people out.

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
pub struct ChartQuery {
    range: Option<String>,
}

/// What a chart's numbers can be fetched as.
#[derive(Debug, Clone, Copy)]
enum Format {
    Csv,
    Svg,
}

pub async fn chart_file(
    State(state): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    Query(query): Query<ChartQuery>,
) -> Result<Response, Problem> {
    let user_id: Option<Uuid> = session.get(USER_ID_KEY).await.unwrap_or(None);
    let user = match user_id {
        Some(id) => service::users::find(&state.pool, id).await?,
        None => None,
    };
    match user {
        Some(u) if !u.disabled && u.role.grants(Role::Viewer) => {}
        _ => return Err(Problem::unauthorized("log in to read trends")),
    }
    let (chart, format) = [(".csv", Format::Csv), (".svg", Format::Svg)]
        .into_iter()
        .find_map(|(suffix, format)| {
            let chart = TrendChart::parse(file.strip_suffix(suffix)?)?;
            Some((chart, format))
        })
        .ok_or_else(|| Problem::not_found(format!("no trends chart {file:?}")))?;
    let range = match query.range.as_deref() {
        Some(r) => TrendRange::parse(r)?,
        None => TrendRange::default(),
    };
    let now = chrono::Utc::now();
    let data = service::trends::load(&state.pool, chart, Window::ending_at(range, now)).await?;
    match format {
        Format::Csv => {
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
        Format::Svg => {
            let drawn = service::charts::render(&data, chart.slug())?;
            Ok((
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    // Opened on its own, the SVG is a document of this origin: it may run
                    // nothing and load nothing, whatever text a series name brings into it.
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; style-src 'unsafe-inline'",
                    ),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    // The page and its images are read together; a minute keeps a reload cheap
                    // without showing an hour that has moved on.
                    (header::CACHE_CONTROL, "private, max-age=60"),
                ],
                drawn.svg,
            )
                .into_response())
        }
    }
}
