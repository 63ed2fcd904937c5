use leptos::prelude::*;

use crate::error::AppError;

/// Opens an incident (or a drill) on a playbook; returns its id. Security and admin only.
/// `compromised_since` is T, as the browser's `datetime-local` gives it (taken as UTC) or
/// RFC 3339; empty means now.
#[server(prefix = "/ui", endpoint = "incidents/declare")]
pub async fn declare_incident(
    playbook: String,
    title: String,
    severity: String,
    commander: String,
    key: Option<String>,
    compromised_since: Option<String>,
    drill: Option<String>,
) -> Result<String, AppError> {
    let caller = crate::auth::require_one_of(&super::RESPONDERS).await?;
    let state = crate::auth::state()?;
    let since = match compromised_since.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(parse_time(t).ok_or_else(|| {
            crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
            AppError::Invalid(format!(
                "compromised_since: {t:?} is not a time (2026-11-25T14:30, UTC)"
            ))
        })?),
    };
    let id = service::incidents::declare(
        &state.pool,
        &caller.actor(),
        &state.playbooks,
        &service::incidents::Declaration {
            playbook,
            title,
            severity,
            commander,
            key: key.filter(|k| !k.trim().is_empty()),
            compromised_since: since,
            drill: drill.is_some_and(|d| matches!(d.as_str(), "on" | "true" | "1")),
        },
        chrono::Utc::now(),
    )
    .await?;
    Ok(id.to_string())
}

/// RFC 3339, or the `YYYY-MM-DDTHH:MM[:SS]` of a `datetime-local` input, read as UTC.
#[cfg(feature = "ssr")]
pub(crate) fn parse_time(t: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| n.and_utc())
}
