use leptos::prelude::*;

use crate::error::AppError;
use crate::model::PoliciesView;

/// Every policy with its YAML document. Every logged-in role may read them: developers need to
/// know what their images must satisfy.
#[server(prefix = "/ui", endpoint = "policies/list")]
pub async fn list_policies() -> Result<PoliciesView, AppError> {
    use crate::model::{time, PolicyView};

    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let summaries = service::policies::list(&state.pool).await?;
    let mut documents: std::collections::HashMap<String, String> =
        service::policies::all(&state.pool)
            .await?
            .into_iter()
            .map(|p| (p.name().to_owned(), p.to_yaml()))
            .collect();
    let mut policies = Vec::with_capacity(summaries.len());
    for s in summaries {
        let yaml = documents.remove(&s.name).unwrap_or_default();
        policies.push(PolicyView {
            name: s.name,
            mode: s.mode,
            version: s.version,
            updated: time::absolute(s.updated_at),
            updated_by: s.updated_by,
            yaml,
        });
    }
    let groups: Vec<domain::PolicyItem> = service::key_groups::list(&state.pool)
        .await?
        .into_iter()
        .filter_map(|g| domain::KeyGroup::new(&g.name, g.keys).ok())
        .map(domain::PolicyItem::KeyGroup)
        .collect();
    let bundle = service::trust_bundle::head(&state.pool).await?;
    Ok(PoliciesView {
        policies,
        key_groups_yaml: domain::policy::to_yaml_documents(&groups),
        bundle_version: bundle.map(|b| b.version),
        can_change: super::POLICY_CHANGERS
            .iter()
            .any(|r| caller.user.role.grants(*r)),
    })
}
