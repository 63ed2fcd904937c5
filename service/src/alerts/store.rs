//! Reading and acknowledging stored alerts.

use chrono::{DateTime, Utc};
use domain::alert::AlertRule;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{audit, Actor, ServiceError};

/// The longest note an acknowledgement keeps.
pub const MAX_NOTE_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Alert {
    pub id: Uuid,
    pub rule: String,
    pub severity: String,
    /// `key` or `cluster`.
    pub subject_kind: String,
    /// The key's fingerprint or the cluster's name.
    pub subject: String,
    pub subject_label: String,
    pub summary: String,
    pub facts: serde_json::Value,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub acknowledge_note: Option<String>,
}

const COLUMNS: &str = "id, rule, severity, subject_kind, subject, subject_label, summary, facts,
    first_seen_at, last_seen_at, acknowledged_at, acknowledged_by, acknowledge_note";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Open,
    Acknowledged,
}

impl AlertState {
    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        match s {
            "open" => Ok(AlertState::Open),
            "acknowledged" => Ok(AlertState::Acknowledged),
            other => Err(ServiceError::Invalid(format!(
                "state: {other:?} is not open or acknowledged"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub rule: Option<AlertRule>,
    pub state: Option<AlertState>,
    /// A key's alerts (by fingerprint), for the key's page.
    pub key_fingerprint: Option<String>,
    /// A cluster's alerts (by name).
    pub cluster: Option<String>,
    pub limit: i64,
}

/// Open alerts first, then acknowledged ones; newest (last seen) first within each.
pub async fn list(pool: &PgPool, filter: &AlertFilter) -> Result<Vec<Alert>, ServiceError> {
    let (kind, subject) = match (&filter.key_fingerprint, &filter.cluster) {
        (Some(k), _) => (Some("key"), Some(k.as_str())),
        (None, Some(c)) => (Some("cluster"), Some(c.as_str())),
        (None, None) => (None, None),
    };
    let open = filter.state.map(|s| s == AlertState::Open);
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alerts
          WHERE ($1::text IS NULL OR rule = $1)
            AND ($2::boolean IS NULL OR (acknowledged_at IS NULL) = $2)
            AND ($3::text IS NULL OR (subject_kind = $3 AND subject = $4))
          ORDER BY (acknowledged_at IS NULL) DESC, last_seen_at DESC, id DESC
          LIMIT $5"
    ))
    .bind(filter.rule.map(AlertRule::as_str))
    .bind(open)
    .bind(kind)
    .bind(subject)
    .bind(filter.limit.clamp(1, 1000))
    .fetch_all(pool)
    .await?)
}

/// Alerts nobody has acknowledged yet.
pub async fn count_open(pool: &PgPool) -> Result<i64, ServiceError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}

/// Open alerts per rule, every rule listed (zero included), for the metrics.
pub async fn count_open_by_rule(pool: &PgPool) -> Result<Vec<(AlertRule, i64)>, ServiceError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT rule, count(*) FROM alerts WHERE acknowledged_at IS NULL GROUP BY rule",
    )
    .fetch_all(pool)
    .await?;
    Ok(AlertRule::ALL
        .into_iter()
        .map(|rule| {
            let n = rows
                .iter()
                .find(|(r, _)| r == rule.as_str())
                .map_or(0, |(_, n)| *n);
            (rule, n)
        })
        .collect())
}

/// Marks an alert as seen and handled by `actor`, with an optional note, and audits it in the
/// same transaction. Acknowledging twice is refused: the first acknowledgement stands.
pub async fn acknowledge(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Alert, ServiceError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ServiceError::Invalid(format!(
            "note: at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let mut tx = pool.begin().await?;
    let alert: Alert = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ServiceError::NotFound(format!("alert {id}")))?;
    if let (Some(at), Some(by)) = (alert.acknowledged_at, &alert.acknowledged_by) {
        return Err(ServiceError::Conflict(format!(
            "this alert was already acknowledged by {by} at {}",
            at.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let updated: Alert = sqlx::query_as(&format!(
        "UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3, acknowledge_note = $4
          WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(now)
    .bind(&actor.label)
    .bind(note)
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        actor,
        "alert.acknowledged",
        &format!("alert:{id}"),
        json!({
            "rule": alert.rule,
            "subject": alert.subject,
            "note": note,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

/// The delivery of one alert to one webhook, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub alert_id: Uuid,
    pub webhook_origin: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Where these alerts were sent, per webhook.
pub async fn deliveries(pool: &PgPool, alerts: &[Uuid]) -> Result<Vec<Delivery>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT alert_id, webhook_origin, state, attempts, next_attempt_at, last_error, delivered_at
           FROM alert_deliveries WHERE alert_id = ANY($1) ORDER BY alert_id, webhook_origin",
    )
    .bind(alerts)
    .fetch_all(pool)
    .await?)
}
