use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/ui", endpoint = "admin/set_user_disabled")]
pub async fn set_user_disabled(user_id: String, disabled: bool) -> Result<(), AppError> {
    let caller = crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let id = crate::api::admin::parse_id(&user_id)?;
    if id == caller.user.id && disabled {
        crate::error::set_status(http::StatusCode::CONFLICT);
        return Err(AppError::Conflict(
            "you cannot disable your own account".into(),
        ));
    }
    service::users::set_disabled(&state.pool, &caller.actor(), id, disabled).await?;
    Ok(())
}
