use leptos::prelude::*;

use crate::error::AppError;

/// Adds a comment to an incident, or to one of its steps; audited. Security and admin only.
#[server(prefix = "/ui", endpoint = "incidents/comment")]
pub async fn comment_on_incident(
    incident: String,
    step: Option<String>,
    body: String,
) -> Result<(), AppError> {
    let caller = crate::auth::require_one_of(&super::RESPONDERS).await?;
    let state = crate::auth::state()?;
    let id = super::incident_id(&incident)?;
    service::incidents::comment(
        &state.pool,
        &caller.actor(),
        &super::responder(&caller),
        id,
        step.as_deref().filter(|s| !s.trim().is_empty()),
        &body,
        chrono::Utc::now(),
    )
    .await?;
    Ok(())
}
