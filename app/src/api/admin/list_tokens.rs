use leptos::prelude::*;

use crate::error::AppError;
use crate::model::TokenView;

#[server(prefix = "/ui", endpoint = "admin/tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    use crate::model::time;

    crate::auth::require(domain::Role::Admin).await?;
    let state = crate::auth::state()?;
    let now = chrono::Utc::now();
    Ok(service::tokens::list(&state.pool)
        .await?
        .into_iter()
        .map(|t| TokenView {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.token_prefix,
            scopes: t.scopes.iter().map(|s| s.to_string()).collect(),
            cluster: t.cluster,
            created_by: t.created_by,
            created_at: time::absolute(t.created_at),
            last_used: time::maybe_ago(t.last_used_at, now),
            revoked: t.revoked_at.is_some(),
            may_register_clusters: t.may_register_clusters,
        })
        .collect())
}
