//! Telling the configured webhooks about an incident: the notify step queues one delivery per
//! webhook in its own transaction, and the background loop sends them at least once with the
//! alerts' lease, backoff and HMAC signature. A drill queues nothing.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::IncidentRow;
use crate::alerts::deliver::{post, Outbox};
use crate::alerts::{DeliveryReport, Webhooks};
use crate::ServiceError;

/// Queues the incident for every webhook; returns how many were queued. Notifying twice queues
/// nothing new: each webhook hears of an incident once.
pub(super) async fn queue(
    conn: &mut PgConnection,
    incident: Uuid,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let mut queued = 0;
    for w in &webhooks.targets {
        queued += sqlx::query(
            "INSERT INTO incident_notifications (incident_id, webhook, webhook_origin, next_attempt_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(incident)
        .bind(w.id())
        .bind(w.origin())
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected() as usize;
    }
    Ok(queued)
}

/// The JSON a webhook receives about an incident.
pub fn payload(incident: &IncidentRow, public_url: Option<&str>) -> serde_json::Value {
    json!({
        "kind": "incident",
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "playbook": incident.playbook,
        "commander": incident.commander,
        "key": incident.key_name,
        "key_fingerprint": incident.key_fingerprint,
        "key_status": incident.key_status,
        "compromised_since": incident.compromised_since,
        "bundle_version": incident.contain_bundle_version,
        "opened_at": incident.opened_at,
        "url": public_url.map(|u| format!("{}/incidents/{}", u.trim_end_matches('/'), incident.id)),
    })
}

/// Sends the due incident notifications, as `alerts::deliver_due` sends alerts.
pub async fn deliver_due(
    pool: &PgPool,
    client: &reqwest::Client,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, ServiceError> {
    let mut report = DeliveryReport::default();
    for (incident_id, webhook_id, attempts) in Outbox::Incidents.claim(pool, now).await? {
        let result = match webhooks.targets.iter().find(|w| w.id() == webhook_id) {
            None => Err("this webhook is no longer configured".to_owned()),
            Some(webhook) => match super::get(pool, incident_id).await {
                Err(e) => Err(format!("reading the incident: {e}")),
                Ok(incident) => {
                    let body = payload(&incident.row, webhooks.public_url.as_deref());
                    post(
                        client,
                        webhooks,
                        webhook,
                        ("X-Trustwatch-Incident", incident_id.to_string()),
                        body.to_string().into_bytes(),
                    )
                    .await
                }
            },
        };
        Outbox::Incidents
            .settle(
                pool,
                incident_id,
                &webhook_id,
                attempts,
                result,
                now,
                &mut report,
            )
            .await?;
    }
    Ok(report)
}
