use leptos::prelude::*;

use crate::error::AppError;

/// Changes the caller's own password; the current one must be given.
#[server(prefix = "/ui", endpoint = "account/password")]
pub async fn change_password(
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), AppError> {
    let caller = crate::auth::require(domain::Role::Viewer).await?;
    if new_password != confirm {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        return Err(AppError::Invalid("the two new passwords differ".into()));
    }
    let state = crate::auth::state()?;
    service::users::change_password(
        &state.pool,
        &caller.actor(),
        caller.user.id,
        current.into(),
        &new_password,
    )
    .await?;
    Ok(())
}
