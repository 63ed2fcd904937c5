use leptos::prelude::*;

use crate::error::AppError;
use crate::model::PolicyApplyView;

/// How many days of recorded admissions a dry run judges the proposal against.
pub const IMPACT_WINDOW_DAYS: i64 = 7;

/// Validates policy and key-group documents (YAML or JSON, several separated by `---`), shows
/// the diff against what is stored and, for a dry run, what the change would do to the last
/// week's admissions; otherwise applies them, audited, publishing a new trust-bundle version.
#[server(prefix = "/ui", endpoint = "policies/apply")]
pub async fn apply_policies(
    documents: String,
    /// `"true"` for a dry run: nothing is stored.
    dry_run: Option<String>,
) -> Result<PolicyApplyView, AppError> {
    use crate::model::{PolicyChangeView, PolicyImpactView, VerdictChangeView};
    use service::policies::{self, ApplyError, ApplyOptions};

    let caller = crate::auth::require_one_of(&super::POLICY_CHANGERS).await?;
    let state = crate::auth::state()?;
    let dry_run = dry_run.as_deref() == Some("true");
    let outcome = policies::apply(
        &state.pool,
        &caller.actor(),
        &state.publisher,
        &documents,
        ApplyOptions {
            dry_run,
            prune: false,
        },
    )
    .await
    .map_err(|e| match e {
        ApplyError::Invalid(problems) => {
            crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
            AppError::Invalid(problems.to_string())
        }
        ApplyError::Service(e) => e.into(),
    })?;
    let impact = if dry_run {
        let items = domain::policy::parse_documents(&documents)
            .map_err(|p| AppError::Invalid(p.to_string()))?;
        let i =
            policies::impact::impact(&state.pool, &items, IMPACT_WINDOW_DAYS, chrono::Utc::now())
                .await?;
        Some(PolicyImpactView {
            window_days: i.window_days,
            placements: i.placements,
            admissions: i.admissions,
            truncated: i.truncated,
            refused_now: i.refused_now,
            refused_after: i.refused_after,
            warned_now: i.warned_now,
            warned_after: i.warned_after,
            changes: i
                .changes
                .into_iter()
                .map(|c| VerdictChangeView {
                    image: match &c.digest {
                        Some(d) if !c.image.contains('@') => format!("{}@{d}", c.image),
                        _ => c.image,
                    },
                    cluster: c.cluster,
                    namespace: c.namespace,
                    admissions: c.admissions,
                    now: c.now.as_str().into(),
                    after: c.after.as_str().into(),
                    summary: c.summary,
                })
                .collect(),
        })
    } else {
        None
    };
    Ok(PolicyApplyView {
        dry_run,
        changes: outcome
            .changes
            .into_iter()
            .map(|c| PolicyChangeView {
                kind: c.kind.as_str().into(),
                name: c.name,
                change: c.change.as_str().into(),
                diff: c.diff,
            })
            .collect(),
        bundle_version: outcome.bundle_version,
        impact,
    })
}
