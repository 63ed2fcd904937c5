use leptos::prelude::*;

use crate::error::AppError;

/// Imports a public key (PEM) and publishes the trust bundle that contains it. Returns the new
/// bundle version.
#[server(prefix = "/ui", endpoint = "keys/import")]
pub async fn import_key(
    name: String,
    owner_team: String,
    custody: String,
    public_key_pem: String,
    /// Whole days; empty for none.
    rotation_period_days: Option<String>,
) -> Result<Option<u64>, AppError> {
    let caller = crate::auth::require_one_of(&super::KEY_CHANGERS).await?;
    let state = crate::auth::state()?;
    let rotation_period_days = match rotation_period_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(d.parse::<i32>().map_err(|_| {
            crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
            AppError::Invalid(format!(
                "rotation period: {d:?} is not a whole number of days"
            ))
        })?),
    };
    let change = service::keys::import(
        &state.pool,
        &caller.actor(),
        &state.publisher,
        &service::keys::KeyImport {
            name: name.trim().to_owned(),
            public_key_pem,
            owner_team: owner_team.trim().to_owned(),
            custody,
            custody_uri: None,
            valid_from: None,
            valid_until: None,
            rotation_period_days,
        },
        chrono::Utc::now(),
    )
    .await?;
    Ok(change.bundle_version)
}
