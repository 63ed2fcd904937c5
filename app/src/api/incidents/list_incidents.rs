use leptos::prelude::*;

use crate::error::AppError;
use crate::model::IncidentsView;

/// Open incidents first, then the recent closed ones; with what the declaration form offers.
/// Every logged-in role may read them.
#[server(prefix = "/ui", endpoint = "incidents/list")]
pub async fn list_incidents() -> Result<IncidentsView, AppError> {
    use crate::model::{time, IncidentSummaryView};

    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state = crate::auth::state()?;
    let now = chrono::Utc::now();
    let incidents = service::incidents::list(&state.pool, 50).await?;
    let keys = service::keys::list(&state.pool).await?;
    let users = service::users::list(&state.pool).await?;
    Ok(IncidentsView {
        incidents: incidents
            .into_iter()
            .map(|i| IncidentSummaryView {
                id: i.id.to_string(),
                title: i.title,
                playbook: i.playbook,
                severity: i.severity,
                status: i.status,
                drill: i.drill,
                commander: i.commander,
                key: i.key_name,
                opened: time::absolute(i.opened_at),
                age: service::incidents::review::human(i.closed_at.unwrap_or(now) - i.opened_at),
                current_steps: i.current_steps,
            })
            .collect(),
        playbooks: state
            .playbooks
            .list()
            .map(|p| (p.id().to_owned(), p.title().to_owned()))
            .collect(),
        keys: keys.into_iter().map(|k| (k.name, k.status)).collect(),
        commanders: users
            .into_iter()
            .filter(|u| {
                !u.disabled && matches!(u.role, domain::Role::Security | domain::Role::Admin)
            })
            .map(|u| u.email)
            .collect(),
        me: caller.user.email.clone(),
        can_declare: super::RESPONDERS
            .iter()
            .any(|r| caller.user.role.grants(*r)),
    })
}
