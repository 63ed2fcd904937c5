use leptos::prelude::*;

use crate::error::AppError;
use crate::model::ImageHistoryPage;

/// A digest's recorded admission outcomes, newest first, a page at a time: `before` is the
/// `next` of the previous page. Every logged-in role may read it.
#[server(prefix = "/ui", endpoint = "images/history")]
pub async fn image_history(
    digest: String,
    before: Option<String>,
    limit: Option<u32>,
) -> Result<ImageHistoryPage, AppError> {
    use crate::model::{time, VerificationView};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let digest = super::parse_digest(&digest)?;
    let before = before
        .filter(|b| !b.trim().is_empty())
        .map(|b| service::keyset::Keyset::parse(&b))
        .transpose()?;
    let (events, next) = service::images::history(
        &state.pool,
        &digest,
        before,
        service::keyset::page_size(limit),
    )
    .await?;
    Ok(ImageHistoryPage {
        events: events
            .into_iter()
            .map(|e| VerificationView {
                id: e.id.to_string(),
                cluster: e.cluster,
                namespace: e.namespace,
                workload: format!("{}/{}", e.workload_kind, e.workload_name),
                image: e.image,
                outcome: e.outcome,
                reason: e.reason,
                engine: e.engine,
                policy: e.policy,
                observed: time::absolute(e.observed_at),
            })
            .collect(),
        next: next.map(|k| k.encode()),
    })
}
