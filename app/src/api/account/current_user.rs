use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

/// The logged-in person, for the navigation bar.
#[server(prefix = "/ui", endpoint = "me")]
pub async fn current_user() -> Result<Me, AppError> {
    let caller = crate::auth::require(domain::Role::Viewer).await?;
    Ok(Me {
        email: caller.user.email,
        role: caller.user.role.to_string(),
        must_change_password: caller.user.must_change_password,
    })
}
