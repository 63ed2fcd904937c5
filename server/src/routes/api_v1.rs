//! The machine APIs under `/api/v1`: stable URLs, bearer tokens, problem+json errors.

mod admission_messages;
mod auth;
mod batch;
mod clusters;
mod connaisseur_alerts;
mod heartbeat;
mod openapi;
mod policy_reports;
pub mod problem;
mod signing_events;
mod verification_events;

pub use auth::Bearer;

use app::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(clusters::list))
        .route("/clusters/heartbeat", post(heartbeat::post))
        .route("/verification-events", post(verification_events::post))
        .route("/signing-events", post(signing_events::post))
        .route("/admission-messages", post(admission_messages::post))
        .route("/policy-reports", post(policy_reports::post))
        .route("/connaisseur-alerts", post(connaisseur_alerts::post))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { problem::Problem::not_found("no such API route") })
}
