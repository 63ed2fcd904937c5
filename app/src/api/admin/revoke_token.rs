use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/ui", endpoint = "admin/revoke_token")]
pub async fn revoke_token(token_id: String) -> Result<(), AppError> {
    let caller = crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let id = crate::api::admin::parse_id(&token_id)?;
    service::tokens::revoke(&state.pool, &caller.actor(), id).await?;
    Ok(())
}
