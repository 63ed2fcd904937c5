use leptos::prelude::*;

use crate::error::AppError;
use crate::model::UserView;

#[server(prefix = "/ui", endpoint = "admin/users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let now = chrono::Utc::now();
    Ok(service::users::list(&state.pool)
        .await?
        .into_iter()
        .map(|u| UserView {
            id: u.id.to_string(),
            email: u.email,
            role: u.role.to_string(),
            disabled: u.disabled,
            last_login: crate::model::time::maybe_ago(u.last_login_at, now),
        })
        .collect())
}
