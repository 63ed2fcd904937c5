use leptos::prelude::*;

use crate::error::AppError;

/// Closes an incident once every required step is finished. Security and admin only.
#[server(prefix = "/ui", endpoint = "incidents/close")]
pub async fn close_incident(incident: String) -> Result<(), AppError> {
    let caller = crate::auth::require_one_of(&super::RESPONDERS).await?;
    let state = crate::auth::state()?;
    let id = super::incident_id(&incident)?;
    service::incidents::close(
        &state.pool,
        &caller.actor(),
        &super::responder(&caller),
        id,
        chrono::Utc::now(),
    )
    .await?;
    Ok(())
}
