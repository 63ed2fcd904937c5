use leptos::prelude::*;

use crate::error::AppError;

/// Marks an alert as seen and handled, with an optional note; audited. Security and admin only.
#[server(prefix = "/ui", endpoint = "alerts/acknowledge")]
pub async fn acknowledge_alert(id: String, note: Option<String>) -> Result<(), AppError> {
    let caller = crate::auth::require_one_of(&super::ALERT_ACKNOWLEDGERS).await?;
    let state = crate::auth::state()?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        AppError::Invalid(format!("{id:?} is not an alert id"))
    })?;
    service::alerts::acknowledge(
        &state.pool,
        &caller.actor(),
        id,
        note.as_deref(),
        chrono::Utc::now(),
    )
    .await?;
    Ok(())
}
