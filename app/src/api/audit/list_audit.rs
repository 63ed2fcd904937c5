use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AuditPage;

/// One page of the audit log, newest first, and whether the whole chain verifies.
#[server(prefix = "/ui", endpoint = "audit")]
pub async fn list_audit(
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::model::{time, AuditEntryView, ChainView};
    use domain::ChainStatus;

    crate::auth::require(domain::Role::Auditor).await?;
    let state = crate::auth::state()?;
    const PAGE: i64 = 100;
    let filter = service::audit::AuditFilter {
        actor,
        action,
        target,
        before_seq: before,
        limit: PAGE,
    };
    let entries = service::audit::list(&state.pool, &filter).await?;
    let chain = match service::audit::verify(&state.pool).await? {
        ChainStatus::Verified { entries } => ChainView::Verified { entries },
        ChainStatus::Broken(b) => ChainView::Broken {
            seq: b.seq,
            explanation: b.explain(),
        },
    };
    let next_before = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(AuditPage {
        entries: entries
            .into_iter()
            .map(|e| AuditEntryView {
                seq: e.seq,
                at: time::absolute(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: domain::audit::canonical_json(&e.detail),
                source_ip: e.source_ip.unwrap_or_default(),
                hash: hex_prefix(&e.hash),
            })
            .collect(),
        chain,
        next_before,
    })
}

#[cfg(feature = "ssr")]
fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
