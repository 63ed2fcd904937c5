use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{RejectionListView, RejectionQuery};

/// How many rows a page of the Rejections table shows.
pub const PAGE_SIZE: usize = 50;

/// One page of refused, warned and errored admissions, newest first. Every logged-in role may
/// read it: developers come here to find their own.
#[server(prefix = "/ui", endpoint = "rejections/list")]
/// `query` is optional because a form encoding of "no filter at all" is an empty body.
pub async fn list_rejections(query: Option<RejectionQuery>) -> Result<RejectionListView, AppError> {
    use crate::model::{time, RejectionFacets, RejectionRowView};
    use service::rejections::{Cursor, RejectionFilter};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let query = query.unwrap_or_default();
    let now = chrono::Utc::now();
    let (span, range_label) = match query.range.as_deref().unwrap_or("7d") {
        "24h" => (chrono::Duration::hours(24), "the last 24 hours"),
        "7d" => (chrono::Duration::days(7), "the last 7 days"),
        "30d" => (chrono::Duration::days(30), "the last 30 days"),
        "90d" => (chrono::Duration::days(90), "the last 90 days"),
        other => {
            return Err(service::ServiceError::Invalid(format!(
                "range {other:?} is not one of 24h, 7d, 30d, 90d"
            ))
            .into())
        }
    };
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let after = match clean(&query.after) {
        Some(a) => Some(Cursor::decode(&a).ok_or_else(|| {
            service::ServiceError::Invalid(
                "the page link is damaged; start again from the first page".into(),
            )
        })?),
        None => None,
    };
    let filter = RejectionFilter {
        cluster: clean(&query.cluster),
        environment: clean(&query.environment),
        namespace: clean(&query.namespace),
        image: clean(&query.image),
        team: clean(&query.team),
        reason: clean(&query.reason),
        engine: clean(&query.engine),
        outcome: clean(&query.outcome),
        since: now - span,
        until: None,
    };
    let list = service::rejections::list(&state.pool, &filter, after, PAGE_SIZE).await?;
    let clusters = service::clusters::list(&state.pool).await?;
    let mut environments: Vec<String> = clusters.iter().map(|c| c.environment.clone()).collect();
    environments.sort();
    environments.dedup();
    let facets = RejectionFacets {
        clusters: clusters.iter().map(|c| c.name.clone()).collect(),
        environments,
        teams: service::teams::list(&state.pool)
            .await?
            .into_keys()
            .collect(),
        reasons: domain::ReasonCode::ALL
            .iter()
            .filter(|r| **r != domain::ReasonCode::Admitted)
            .map(|r| r.as_str().to_owned())
            .collect(),
        engines: domain::Engine::ALL
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect(),
    };
    Ok(RejectionListView {
        rows: list
            .rows
            .into_iter()
            .map(|r| RejectionRowView {
                id: r.id.to_string(),
                observed: time::absolute(r.observed_at),
                cluster: r.cluster,
                environment: r.environment,
                namespace: r.namespace,
                workload: format!("{}/{}", r.workload_kind, r.workload_name),
                image: r.image,
                outcome: r.outcome,
                reason: r.reason,
                engine: r.engine,
                policy: r.policy,
            })
            .collect(),
        next: list.next.map(|c| c.encode()),
        first_page: after.is_none(),
        image_query_too_broad: list.image_query_too_broad,
        range_label: range_label.to_owned(),
        facets,
    })
}
