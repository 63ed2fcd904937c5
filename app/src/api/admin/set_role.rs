use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/ui", endpoint = "admin/set_role")]
pub async fn set_role(user_id: String, role: String) -> Result<(), AppError> {
    let caller = crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let role = domain::Role::parse(&role).map_err(service::ServiceError::from)?;
    let id = crate::api::admin::parse_id(&user_id)?;
    service::users::set_role(&state.pool, &caller.actor(), id, role).await?;
    Ok(())
}
