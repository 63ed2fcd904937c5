use leptos::prelude::*;

use crate::error::AppError;

/// Creates an account with a password the admin hands over; the person must change it at their
/// first login.
#[server(prefix = "/ui", endpoint = "admin/create_user")]
pub async fn create_user(email: String, role: String, password: String) -> Result<(), AppError> {
    let caller = crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let role = domain::Role::parse(&role).map_err(service::ServiceError::from)?;
    service::users::create(&state.pool, &caller.actor(), &email, role, &password, true).await?;
    Ok(())
}
