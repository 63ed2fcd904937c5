use leptos::prelude::*;

use crate::error::AppError;

/// Changes a key's lifecycle status (revoked, compromised since a time, retiring, active) and
/// publishes the trust bundle that says so. Returns the new bundle version, if one was needed.
#[server(prefix = "/ui", endpoint = "keys/set_status")]
pub async fn set_key_status(
    name: String,
    status: String,
    /// `YYYY-MM-DDTHH:MM` in UTC, from a `datetime-local` input; empty for none.
    since: Option<String>,
) -> Result<Option<u64>, AppError> {
    let caller = crate::auth::require_one_of(&super::KEY_CHANGERS).await?;
    let state = crate::auth::state()?;
    let invalid = |m: String| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        AppError::Invalid(m)
    };
    let status = domain::KeyStatus::parse(&status).map_err(|e| invalid(e.to_string()))?;
    let since = match since.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(parse_utc(s).ok_or_else(|| {
            invalid(format!(
                "since: {s:?} is not a time (YYYY-MM-DD HH:MM, UTC, or RFC 3339)"
            ))
        })?),
    };
    let change = service::keys::set_status(
        &state.pool,
        &caller.actor(),
        &state.publisher,
        &name,
        status,
        since,
        chrono::Utc::now(),
    )
    .await?;
    Ok(change.bundle_version)
}

/// RFC 3339, or the `YYYY-MM-DDTHH:MM[:SS]` of a `datetime-local` input read as UTC.
#[cfg(feature = "ssr")]
pub(crate) fn parse_utc(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{NaiveDateTime, TimeZone, Utc};
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| Utc.from_utc_datetime(&t))
}
