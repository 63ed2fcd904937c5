//! The machine APIs under `/api/v1`: stable URLs, bearer tokens, problem+json errors.

mod auth;
mod clusters;
pub mod problem;

pub use auth::Bearer;

use app::state::AppState;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(clusters::list))
        .fallback(|| async { problem::Problem::not_found("no such API route") })
}
