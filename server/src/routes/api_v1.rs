//! The machine APIs under `/api/v1`: stable URLs, bearer tokens, problem+json errors.

mod admission_messages;
mod auth;
mod batch;
mod clusters;
mod connaisseur_alerts;
mod heartbeat;
mod key_groups;
mod keys;
mod openapi;
mod policies;
mod policy_reports;
pub mod problem;
mod signing_events;
mod teams;
mod trust_bundle;
mod verification_events;

pub use auth::Bearer;

use app::state::AppState;
use axum::routing::{get, post, put};
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
        .route("/trust-bundle", get(trust_bundle::get))
        .route("/trust-bundle/key", get(trust_bundle::key))
        .route("/keys", get(keys::list).post(keys::import))
        .route("/keys/{name}", get(keys::get))
        .route("/keys/{name}/status", put(keys::set_status))
        .route("/key-groups", get(key_groups::list))
        .route("/key-groups/{name}", put(key_groups::put))
        .route("/teams", get(teams::list))
        .route("/teams/{team}", put(teams::put))
        .route("/policies", get(policies::list))
        .route("/policies/apply", post(policies::apply))
        .route("/policies/export", get(policies::export))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { problem::Problem::not_found("no such API route") })
}
