use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AlertsView;

/// Open alerts, newest first, then acknowledged ones; optionally of one rule, only open or only
/// acknowledged ones, or those of one key (fingerprint) or cluster (name). Every logged-in role
/// may read them.
#[server(prefix = "/ui", endpoint = "alerts/list")]
pub async fn list_alerts(
    rule: Option<String>,
    /// `open` or `acknowledged`; empty for both.
    state: Option<String>,
    key: Option<String>,
    cluster: Option<String>,
) -> Result<AlertsView, AppError> {
    use crate::model::{time, AcknowledgementView, AlertView};
    use domain::alert::AlertRule;
    use service::alerts::{AlertFilter, AlertState};

    let caller = crate::auth::require(domain::Role::Viewer).await?;
    let state_ = crate::auth::state()?;
    let invalid = |m: String| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        AppError::Invalid(m)
    };
    let rule = match rule.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(AlertRule::parse(r).map_err(|e| invalid(e.to_string()))?),
    };
    let state = match state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(AlertState::parse(s)?),
    };
    let now = chrono::Utc::now();
    let alerts = service::alerts::list(
        &state_.pool,
        &AlertFilter {
            rule,
            state,
            key_fingerprint: key.filter(|k| !k.trim().is_empty()),
            cluster: cluster.filter(|c| !c.trim().is_empty()),
            limit: 500,
        },
    )
    .await?;
    let mut view = AlertsView {
        open: Vec::new(),
        acknowledged: Vec::new(),
        can_acknowledge: super::ALERT_ACKNOWLEDGERS
            .iter()
            .any(|r| caller.user.role.grants(*r)),
        rules: AlertRule::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), r.title().to_owned()))
            .collect(),
    };
    let ids: Vec<uuid::Uuid> = alerts.iter().map(|a| a.id).collect();
    let mut sent = service::alerts::deliveries(&state_.pool, &ids).await?;
    for a in alerts {
        let deliveries = sent
            .extract_if(.., |d| d.alert_id == a.id)
            .map(|d| match (d.state.as_str(), d.delivered_at) {
                ("delivered", Some(at)) => {
                    format!("{}: delivered {}", d.webhook_origin, time::absolute(at))
                }
                ("pending", _) if d.attempts == 0 => format!("{}: queued", d.webhook_origin),
                ("pending", _) => format!(
                    "{}: {} failed attempt(s), next {}: {}",
                    d.webhook_origin,
                    d.attempts,
                    time::absolute(d.next_attempt_at),
                    d.last_error.unwrap_or_default()
                ),
                _ => format!(
                    "{}: given up after {} attempts: {}",
                    d.webhook_origin,
                    d.attempts,
                    d.last_error.unwrap_or_default()
                ),
            })
            .collect();
        let rule_title = AlertRule::parse(&a.rule)
            .map(|r| r.title().to_owned())
            .unwrap_or_else(|_| a.rule.clone());
        let acknowledged = match (a.acknowledged_at, a.acknowledged_by) {
            (Some(at), Some(by)) => Some(AcknowledgementView {
                by: by.strip_prefix("user:").unwrap_or(&by).to_owned(),
                at: time::absolute(at),
                note: a.acknowledge_note,
            }),
            _ => None,
        };
        let item = AlertView {
            id: a.id.to_string(),
            rule: a.rule,
            rule_title,
            severity: a.severity,
            subject_kind: a.subject_kind,
            subject: a.subject,
            subject_label: a.subject_label,
            summary: a.summary,
            facts: facts(&a.facts),
            first_seen: time::absolute(a.first_seen_at),
            last_seen: time::absolute(a.last_seen_at),
            last_seen_ago: time::ago(a.last_seen_at, now),
            acknowledged,
            deliveries,
        };
        if item.acknowledged.is_some() {
            view.acknowledged.push(item);
        } else {
            view.open.push(item);
        }
    }
    Ok(view)
}

/// A finding's facts as text lines, in the order stored (keys sorted).
#[cfg(feature = "ssr")]
fn facts(v: &serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    fn text(v: &Value) -> String {
        match v {
            Value::Null => "—".into(),
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('_', " "), text(v)))
            .collect(),
        _ => Vec::new(),
    }
}
