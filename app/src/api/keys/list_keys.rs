use leptos::prelude::*;

use crate::error::AppError;
use crate::model::KeysView;

/// The key inventory. Every logged-in role may read it: public keys are not secrets.
#[server(prefix = "/ui", endpoint = "keys/list")]
pub async fn list_keys() -> Result<KeysView, AppError> {
    use crate::model::{time, KeyView};

    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let now = chrono::Utc::now();
    let keys = service::keys::list(&state.pool).await?;
    let bundle = service::trust_bundle::head(&state.pool).await?;
    Ok(KeysView {
        keys: keys
            .into_iter()
            .map(|k| {
                let status_detail = match (k.status.as_str(), k.compromised_since, k.revoked_at) {
                    ("compromised", Some(t), _) => format!("since {}", time::absolute(t)),
                    ("revoked", _, Some(t)) => format!("at {}", time::absolute(t)),
                    _ => String::new(),
                };
                let age_days = (now - k.valid_from).num_days();
                let (rotation, rotation_overdue) = match k.rotation_period_days {
                    Some(days) => (
                        format!("every {days} days (age {age_days} days)"),
                        age_days > i64::from(days),
                    ),
                    None => ("no rotation period".into(), false),
                };
                KeyView {
                    name: k.name,
                    fingerprint: k.fingerprint,
                    algorithm: k.algorithm,
                    owner_team: k.owner_team,
                    custody: k.custody,
                    status: k.status,
                    valid_from: time::absolute(k.valid_from),
                    valid_until: k
                        .valid_until
                        .map(time::absolute)
                        .unwrap_or_else(|| "no end".into()),
                    status_detail,
                    rotation,
                    rotation_overdue,
                    public_key_pem: k.public_key_pem,
                }
            })
            .collect(),
        bundle_version: bundle.map(|b| b.version),
        can_change: super::KEY_CHANGERS
            .iter()
            .any(|r| caller.user.role.grants(*r)),
    })
}
