use leptos::prelude::*;

use crate::error::AppError;
use crate::model::CreatedToken;

/// Creates a machine token and returns its value, the only time it is ever shown.
#[server(prefix = "/ui", endpoint = "admin/create_token")]
pub async fn create_token(
    name: String,
    scopes: Vec<String>,
    cluster: Option<String>,
    /// A checkbox: present (any value) when ticked.
    register_clusters: Option<String>,
) -> Result<CreatedToken, AppError> {
    let caller = crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let scopes =
        domain::TokenScope::parse_list(&scopes.join(",")).map_err(service::ServiceError::from)?;
    let (token, secret) = service::tokens::create(
        &state.pool,
        &caller.actor(),
        &name,
        &scopes,
        cluster.as_deref().filter(|c| !c.trim().is_empty()),
        register_clusters.is_some(),
    )
    .await?;
    Ok(CreatedToken {
        name: token.name,
        value: secret.expose().to_owned(),
    })
}
