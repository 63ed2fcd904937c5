use leptos::prelude::*;

use crate::error::AppError;
use crate::model::KeysView;

/// The key inventory, with each key's last use and the policies that trust it. Every logged-in
/// role may read it: public keys are not secrets.
#[server(prefix = "/ui", endpoint = "keys/list")]
pub async fn list_keys() -> Result<KeysView, AppError> {
    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let now = chrono::Utc::now();
    let keys = service::key_usage::inventory(&state.pool).await?;
    let bundle = service::trust_bundle::head(&state.pool).await?;
    Ok(KeysView {
        keys: keys.into_iter().map(|k| super::key_view(k, now)).collect(),
        bundle_version: bundle.map(|b| b.version),
        can_change: super::KEY_CHANGERS
            .iter()
            .any(|r| caller.user.role.grants(*r)),
    })
}
