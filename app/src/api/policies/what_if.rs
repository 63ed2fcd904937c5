use leptos::prelude::*;

use crate::error::AppError;
use crate::model::WhatIfView;

/// "What breaks if I revoke this key (or it was compromised since a time)?": replays the
/// admissions recorded over the last `window_days` days (1 to 30, default 7) against the current
/// trust bundle with the change made in memory. Nothing is stored or published. Policy changes
/// are tried with the dry run on the Policies page, which shares the replay.
#[server(prefix = "/ui", endpoint = "policies/what_if")]
pub async fn what_if(
    /// `revoke` (the default) or `compromise`.
    change: Option<String>,
    /// The key's name.
    key: String,
    /// For `compromise`: RFC 3339, or `YYYY-MM-DDTHH:MM` (a `datetime-local` input) in UTC.
    since: Option<String>,
    window_days: Option<String>,
) -> Result<WhatIfView, AppError> {
    use crate::model::{short_digest, WhatIfRowView};
    use service::what_if::{Change, DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS};

    // Who may dry-run a policy change may ask this too: the same knowledge, the same people.
    crate::auth::require_one_of(&super::POLICY_CHANGERS).await?;
    let state = crate::auth::state()?;
    let invalid = |m: String| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        AppError::Invalid(m)
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(invalid("key: choose a key".into()));
    }
    let window_days = match window_days.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_WINDOW_DAYS,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_WINDOW_DAYS).contains(d))
            .ok_or_else(|| {
                invalid(format!(
                    "window_days: {s:?} is not a number of days from 1 to {MAX_WINDOW_DAYS}"
                ))
            })?,
    };
    let since = since.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (change, headline) = match change.as_deref().map(str::trim) {
        None | Some("") | Some("revoke") => (
            Change::RevokeKey { key: key.clone() },
            format!("Revoking key {key}"),
        ),
        Some("compromise") => {
            let Some(since) = since else {
                return Err(invalid(
                    "since: a compromise needs the time the key was compromised since".into(),
                ));
            };
            let since = crate::api::keys::parse_utc(since).ok_or_else(|| {
                invalid(format!(
                    "since: {since:?} is not a time (YYYY-MM-DD HH:MM, UTC, or RFC 3339)"
                ))
            })?;
            (
                Change::CompromiseKey {
                    key: key.clone(),
                    since,
                },
                format!(
                    "Marking key {key} compromised since {}",
                    crate::model::time::absolute(since)
                ),
            )
        }
        Some(other) => {
            return Err(invalid(format!(
                "change: {other:?} is not a change: expected revoke or compromise (policy changes are dry-run on the Policies page)"
            )))
        }
    };
    let impact =
        service::what_if::what_if(&state.pool, &change, window_days, chrono::Utc::now()).await?;
    let (newly_refused, other_changes): (Vec<_>, Vec<_>) =
        impact.changes.into_iter().partition(|c| c.newly_refused());
    let rows = |changes: Vec<service::policies::impact::VerdictChange>| {
        changes
            .into_iter()
            .map(|c| WhatIfRowView {
                digest_short: c.digest.as_deref().map(short_digest),
                digest: c.digest,
                image: c.image,
                cluster: c.cluster,
                namespace: c.namespace,
                admissions: c.admissions,
                now: c.now.as_str().into(),
                after: c.after.as_str().into(),
                summary: c.summary,
            })
            .collect::<Vec<_>>()
    };
    Ok(WhatIfView {
        change: headline,
        window_days: impact.window_days,
        placements: impact.placements,
        admissions: impact.admissions,
        truncated: impact.truncated,
        refused_now: impact.refused_now,
        refused_after: impact.refused_after,
        newly_refused: rows(newly_refused),
        other_changes: rows(other_changes),
    })
}
