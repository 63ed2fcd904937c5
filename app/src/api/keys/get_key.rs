use leptos::prelude::*;

use crate::error::AppError;
use crate::model::KeyPageView;

/// The days of signing the key page charts.
pub const USAGE_DAYS: u32 = 30;

/// The most identity-host pairs the key page lists, the most recently seen.
pub const SIGNERS_SHOWN: i64 = 50;

/// One key in full: its facts, its signatures per day and identity over the last
/// [`USAGE_DAYS`] days, and everyone who signed with it. Every logged-in role may read it.
#[server(prefix = "/ui", endpoint = "keys/get")]
pub async fn get_key(fingerprint: String) -> Result<KeyPageView, AppError> {
    use crate::model::{time, SignerView};

    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let fingerprint = super::parse_fingerprint(&fingerprint)?;
    let now = chrono::Utc::now();
    let Some(key) = service::key_usage::get(&state.pool, &fingerprint).await? else {
        crate::error::set_status(http::StatusCode::NOT_FOUND);
        return Err(AppError::NotFound(format!("key {fingerprint}")));
    };
    let daily =
        service::key_usage::daily_signatures(&state.pool, &fingerprint, USAGE_DAYS, now).await?;
    let (signers, signers_total) =
        service::key_usage::signers(&state.pool, &fingerprint, SIGNERS_SHOWN).await?;
    // The key's anomalies: the open alerts about it, newest first.
    let alerts = service::alerts::list(
        &state.pool,
        &service::alerts::AlertFilter {
            key_fingerprint: Some(fingerprint.as_str().to_owned()),
            state: Some(service::alerts::AlertState::Open),
            limit: 20,
            ..Default::default()
        },
    )
    .await?;
    Ok(KeyPageView {
        can_change: super::KEY_CHANGERS
            .iter()
            .any(|r| caller.user.role.grants(*r)),
        custody_uri: key.key.custody_uri.clone(),
        key: super::key_view(key, now),
        usage_days: USAGE_DAYS,
        usage: usage_view(&daily, service::key_usage::first_day(USAGE_DAYS, now)),
        signers_total,
        signers: signers
            .into_iter()
            .map(|s| SignerView {
                identity: s.signer_identity,
                host: s.signer_host,
                signatures: s.signatures,
                first_seen: time::absolute(s.first_seen),
                last_seen: time::absolute(s.last_seen),
            })
            .collect(),
        alerts: alerts
            .into_iter()
            .map(|a| crate::model::KeyAlertView {
                id: a.id.to_string(),
                severity: a.severity,
                summary: a.summary,
                raised: time::absolute(a.first_seen_at),
            })
            .collect(),
    })
}

/// How many identities get a series of their own; the rest are summed, so the chart stays
/// readable when a key is shared by many pipelines (itself worth a look).
#[cfg(feature = "ssr")]
const SERIES: usize = 6;

/// The chart's table: every day of the window, the busiest identities first.
#[cfg(feature = "ssr")]
fn usage_view(
    daily: &[service::key_usage::DailySignatures],
    first_day: chrono::NaiveDate,
) -> crate::model::KeyUsageView {
    use std::collections::HashMap;

    let days: Vec<chrono::NaiveDate> = (0..USAGE_DAYS)
        .map(|d| first_day + chrono::Duration::days(i64::from(d)))
        .collect();
    let mut totals: HashMap<&str, i64> = HashMap::new();
    for d in daily {
        *totals.entry(d.signer_identity.as_str()).or_default() += d.signatures;
    }
    let mut identities: Vec<(&str, i64)> = totals.into_iter().collect();
    identities.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut names: Vec<String> = identities
        .iter()
        .take(SERIES)
        .map(|(i, _)| (*i).to_owned())
        .collect();
    if identities.len() > SERIES {
        names.push("other identities".to_owned());
    }
    let mut counts = vec![vec![0i64; days.len()]; names.len()];
    for d in daily {
        let Some(day) = days.iter().position(|day| *day == d.day) else {
            continue;
        };
        let series = names
            .iter()
            .take(SERIES)
            .position(|n| *n == d.signer_identity)
            .unwrap_or(SERIES);
        counts[series][day] += d.signatures;
    }
    crate::model::KeyUsageView {
        days: days.iter().map(|d| d.to_string()).collect(),
        identities: names,
        total: daily.iter().map(|d| d.signatures).sum(),
        signers: identities.len(),
        counts,
    }
}
