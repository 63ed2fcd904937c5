use leptos::prelude::*;

use crate::error::AppError;
use crate::model::OverviewView;

#[server(prefix = "/ui", endpoint = "overview")]
pub async fn get_overview() -> Result<OverviewView, AppError> {
    use crate::model::{time, ClusterStatusView, OutcomeCountsView};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let now = chrono::Utc::now();
    let mut o = service::overview::load(&state.pool, now).await?;
    let open_alerts = service::alerts::count_open(&state.pool).await?;
    let counts = |a, r, w, e| OutcomeCountsView {
        admitted: a,
        rejected: r,
        warned: w,
        error: e,
    };
    Ok(OverviewView {
        since: time::absolute(o.since),
        totals: counts(
            o.totals.admitted,
            o.totals.rejected,
            o.totals.warned,
            o.totals.error,
        ),
        clusters: o
            .clusters
            .into_iter()
            .map(|c| ClusterStatusView {
                stale: c.last_report_at.is_none_or(|t| now - t > state.stale_after),
                bundle_behind: match (c.bundle_version, o.newest_bundle) {
                    (Some(runs), Some(newest)) => runs < newest,
                    (None, Some(_)) => true,
                    _ => false,
                },
                top_reasons: o.cluster_reasons.remove(&c.name).unwrap_or_default(),
                last_report: c.last_report_at.map(time::absolute).unwrap_or_default(),
                last_report_ago: time::maybe_ago(c.last_report_at, now),
                counts: counts(c.admitted, c.rejected, c.warned, c.error),
                name: c.name,
                environment: c.environment,
                engine: c.engine.unwrap_or_else(|| "unknown".into()),
                enforcement_mode: c.enforcement_mode.unwrap_or_else(|| "unknown".into()),
                bundle_version: c.bundle_version,
            })
            .collect(),
        top_reasons: o
            .top_reasons
            .into_iter()
            .map(|(code, n)| {
                let summary = domain::ReasonCode::parse(&code)
                    .map(|r| r.summary().to_owned())
                    .unwrap_or_default();
                (code, summary, n)
            })
            .collect(),
        keys_by_status: o.keys_by_status,
        newest_bundle: o.newest_bundle,
        stale_after: format!("{} minutes", state.stale_after.num_minutes()),
        open_incidents: o
            .open_incidents
            .into_iter()
            .map(|i| crate::model::OpenIncidentView {
                id: i.id.to_string(),
                title: i.title,
                severity: i.severity,
                status: i.status,
                commander: i.commander,
                opened_ago: time::ago(i.opened_at, now),
                drill: i.drill,
            })
            .collect(),
        open_alerts,
    })
}
