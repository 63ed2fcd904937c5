//! Telling the configured webhooks about an incident: the notify step queues one delivery per
//! webhook in its own transaction, and the background loop sends them at least once with the
//! alerts' lease, backoff and HMAC signature. A drill queues nothing.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::IncidentRow;
use crate::alerts::deliver::{backoff, post, BATCH, ERROR_CHARS, LEASE, MAX_ATTEMPTS};
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
    let claimed: Vec<(Uuid, String, i32)> = sqlx::query_as(
        "UPDATE incident_notifications n
            SET next_attempt_at = $2, attempts = n.attempts + 1
          WHERE (n.incident_id, n.webhook) IN (
                SELECT incident_id, webhook FROM incident_notifications
                 WHERE state = 'pending' AND next_attempt_at <= $1
                 ORDER BY next_attempt_at LIMIT $3
                   FOR UPDATE SKIP LOCKED)
         RETURNING n.incident_id, n.webhook, n.attempts",
    )
    .bind(now)
    .bind(now + LEASE)
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    let mut report = DeliveryReport::default();
    for (incident_id, webhook_id, attempts) in claimed {
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
        match result {
            Ok(()) => {
                sqlx::query(
                    "UPDATE incident_notifications
                        SET state = 'delivered', delivered_at = $3, last_error = NULL
                      WHERE incident_id = $1 AND webhook = $2",
                )
                .bind(incident_id)
                .bind(&webhook_id)
                .bind(now)
                .execute(pool)
                .await?;
                report.delivered += 1;
            }
            Err(error) => {
                let give_up = attempts >= MAX_ATTEMPTS;
                tracing::warn!(incident = %incident_id, attempts, give_up, %error, "incident notification failed");
                sqlx::query(
                    "UPDATE incident_notifications
                        SET state = CASE WHEN $3 THEN 'failed' ELSE 'pending' END,
                            next_attempt_at = $4, last_error = $5
                      WHERE incident_id = $1 AND webhook = $2",
                )
                .bind(incident_id)
                .bind(&webhook_id)
                .bind(give_up)
                .bind(now + backoff(attempts))
                .bind(error.chars().take(ERROR_CHARS).collect::<String>())
                .execute(pool)
                .await?;
                if give_up {
                    report.failed += 1;
                } else {
                    report.retrying += 1;
                }
            }
        }
    }
    Ok(report)
}
