use leptos::prelude::*;

use crate::error::AppError;
use crate::model::RejectionView;

/// One admission outcome in full. Every logged-in role may read it: the developer whose image was
/// refused is the first reader.
#[server(prefix = "/ui", endpoint = "rejections/get")]
pub async fn get_rejection(id: String) -> Result<RejectionView, AppError> {
    use crate::model::{time, RelatedRejectionView};

    crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let id = crate::api::admin::parse_id(&id)?;
    let Some((e, related)) = service::rejections::get(&state.pool, id).await? else {
        crate::error::set_status(http::StatusCode::NOT_FOUND);
        return Err(AppError::NotFound(format!("admission event {id}")));
    };
    let (checks, raw_checks) = checks_of(&e.checks);
    let advice = service::rejections::advise(&state.pool, &e, chrono::Utc::now()).await?;
    let remediation = e
        .remediation
        .as_deref()
        .map(|r| r.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(RejectionView {
        id: e.id.to_string(),
        cluster: e.cluster,
        namespace: e.namespace,
        workload: format!("{}/{}", e.workload_kind, e.workload_name),
        image: e.image,
        digest: e.digest,
        outcome: e.outcome,
        reason_summary: domain::ReasonCode::parse(&e.reason)
            .map(|r| r.summary().to_owned())
            .unwrap_or_default(),
        reason: e.reason,
        engine: e.engine,
        policy: e.policy,
        message: e.message,
        checks,
        raw_checks,
        keys: e.key_fingerprints,
        observed: time::absolute(e.observed_at),
        received: time::absolute(e.received_at),
        remediation,
        now: advice.map(|a| crate::model::AdviceView {
            bundle_version: a.bundle_version,
            admitted_now: a.admitted_now,
            summary: a.summary,
            remediation: a.remediation,
        }),
        related: related
            .into_iter()
            .map(|r| RelatedRejectionView {
                id: r.id.to_string(),
                cluster: r.cluster,
                namespace: r.namespace,
                outcome: r.outcome,
                reason: r.reason,
                observed: time::absolute(r.observed_at),
            })
            .collect(),
    })
}

/// Trustwatch's own check trees become views; anything else another engine sent is kept as
/// pretty JSON so nothing it said is lost.
#[cfg(feature = "ssr")]
fn checks_of(value: &serde_json::Value) -> (Vec<crate::model::CheckView>, Option<String>) {
    fn view(c: domain::decision::Check) -> crate::model::CheckView {
        crate::model::CheckView {
            subject: c.subject,
            passed: c.passed,
            reason: c.reason.map(|r| r.as_str().to_owned()),
            detail: c.detail,
            expected: c.expected,
            found: c.found,
            source: c
                .source
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            children: c.children.into_iter().map(view).collect(),
        }
    }
    match serde_json::from_value::<Vec<domain::decision::Check>>(value.clone()) {
        Ok(checks) => (checks.into_iter().map(view).collect(), None),
        Err(_) => (
            Vec::new(),
            Some(serde_json::to_string_pretty(value).unwrap_or_default()),
        ),
    }
}
