mod get_key;
mod import_key;
mod list_keys;
mod list_signed_images;
mod set_key_status;
pub use get_key::*;
pub use import_key::*;
pub use list_keys::*;
pub use list_signed_images::*;
pub use set_key_status::*;

/// Who may import keys and change their lifecycle status.
#[cfg(feature = "ssr")]
pub(crate) const KEY_CHANGERS: [domain::Role; 2] = [domain::Role::Security, domain::Role::Admin];

/// A key as the inventory and the key page show it.
#[cfg(feature = "ssr")]
pub(crate) fn key_view(
    k: service::key_usage::KeyInUse,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::model::KeyView {
    use crate::model::{time, KeyView, TrustView};

    let service::key_usage::KeyInUse {
        key: k,
        last_used,
        trusted_by,
    } = k;
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
        last_used: last_used
            .map(time::absolute)
            .unwrap_or_else(|| "never".into()),
        last_used_ago: time::maybe_ago(last_used, now),
        trusted_by: trusted_by
            .into_iter()
            .map(|t| TrustView {
                policy: t.policy,
                mode: t.mode,
                via_group: t.via_group,
            })
            .collect(),
    }
}

/// A fingerprint from a URL, or 422.
#[cfg(feature = "ssr")]
pub(crate) fn parse_fingerprint(s: &str) -> Result<domain::KeyFingerprint, crate::error::AppError> {
    domain::KeyFingerprint::parse(s).map_err(|e| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        crate::error::AppError::Invalid(e.0)
    })
}
