//! Sending alerts to webhooks: at least once, with exponential backoff, surviving restarts.
//!
//! A delivery row is written with the alert, in its transaction. A sender claims due rows by
//! pushing their next attempt a lease into the future (so another replica leaves them alone),
//! posts the JSON, and records the answer: delivered, or the next attempt after a backoff that
//! doubles each time, or failed for good after `MAX_ATTEMPTS`. A sender that dies mid-post
//! leaves the row pending; it is sent again when the lease ends, so receivers get the alert id
//! in `X-Trustwatch-Alert` to drop a duplicate.

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::store::Alert;
use crate::ServiceError;

/// Attempts before a delivery is given up (about 8.5 hours of backoff in all).
pub const MAX_ATTEMPTS: i32 = 12;
/// The wait after the first failure; it doubles after each further one, up to `MAX_BACKOFF`.
pub const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(30);
pub const MAX_BACKOFF: TimeDelta = TimeDelta::hours(1);
/// How long a claimed delivery is left to its sender before others may try.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Deliveries one round sends at most.
const BATCH: i64 = 50;
/// The longest a webhook may take to answer.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How much of a failing webhook's answer is kept for people to read.
const ERROR_CHARS: usize = 300;

/// One webhook. The URL may hold a secret (a token in its path), so it is never logged, stored
/// or shown: the database and the logs name the webhook by its SHA-256 and its origin.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    id: String,
    origin: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// An `http://` or `https://` URL.
    pub fn parse(url: &str) -> Result<Self, ServiceError> {
        let url = url.trim();
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ServiceError::Invalid(format!("webhook URL is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ServiceError::Invalid(
                "webhook URL must be http:// or https:// with a host".into(),
            ));
        }
        let origin = parsed.origin().ascii_serialization();
        Ok(Self {
            id: hex::encode(Sha256::digest(url.as_bytes())),
            url: url.to_owned(),
            origin,
        })
    }

    /// Scheme, host and port: what may be shown and logged.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The SHA-256 of the URL: how deliveries name the webhook without storing it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The configured webhooks, the secret their requests are signed with, and the address alerts
/// link to.
#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    pub targets: Vec<Webhook>,
    /// When set, each request carries `X-Trustwatch-Signature: sha256=<hex>`, the HMAC-SHA256 of
    /// `<X-Trustwatch-Timestamp>.<body>` under this secret.
    pub secret: Option<SecretString>,
    /// Trustwatch's public address; alerts then carry a link to their page.
    pub public_url: Option<String>,
}

/// The signature header's value for a body sent at `timestamp` (Unix seconds).
pub fn sign(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// Queues the alert for every webhook, inside the transaction that raised it.
pub(super) async fn queue(
    conn: &mut PgConnection,
    alert: Uuid,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    for w in &webhooks.targets {
        sqlx::query(
            "INSERT INTO alert_deliveries (alert_id, webhook, webhook_origin, next_attempt_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(alert)
        .bind(&w.id)
        .bind(&w.origin)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed this time, tried again later.
    pub retrying: usize,
    /// Given up.
    pub failed: usize,
}

/// The wait before the next attempt after `attempts` failed ones.
pub fn backoff(attempts: i32) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    (FIRST_BACKOFF * 2_i32.pow(doublings)).min(MAX_BACKOFF)
}

/// A table of deliveries owed to webhooks, one row per subject and webhook: alerts, and incident
/// notifications. Both are sent the same way — claimed under a lease, retried with backoff, given
/// up after `MAX_ATTEMPTS` — so the protocol lives here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outbox {
    Alerts,
    Incidents,
}

impl Outbox {
    /// The table and the column naming the subject; fixed strings, never input.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Outbox::Alerts => ("alert_deliveries", "alert_id"),
            Outbox::Incidents => ("incident_notifications", "incident_id"),
        }
    }

    /// Takes up to `BATCH` due deliveries under a lease, so two replicas never send the same one
    /// at once; returns the subject, the webhook and the attempt this is.
    pub(crate) async fn claim(
        self,
        pool: &PgPool,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, String, i32)>, ServiceError> {
        let (table, subject) = self.table();
        Ok(sqlx::query_as(&format!(
            "UPDATE {table} d
                SET next_attempt_at = $2, attempts = d.attempts + 1
              WHERE (d.{subject}, d.webhook) IN (
                    SELECT {subject}, webhook FROM {table}
                     WHERE state = 'pending' AND next_attempt_at <= $1
                     ORDER BY next_attempt_at LIMIT $3
                       FOR UPDATE SKIP LOCKED)
             RETURNING d.{subject}, d.webhook, d.attempts"
        ))
        .bind(now)
        .bind(now + LEASE)
        .bind(BATCH)
        .fetch_all(pool)
        .await?)
    }

    /// Records how one attempt went: delivered, or retried later, or given up.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn settle(
        self,
        pool: &PgPool,
        subject_id: Uuid,
        webhook_id: &str,
        attempts: i32,
        result: Result<(), String>,
        now: DateTime<Utc>,
        report: &mut DeliveryReport,
    ) -> Result<(), ServiceError> {
        let (table, subject) = self.table();
        match result {
            Ok(()) => {
                sqlx::query(&format!(
                    "UPDATE {table} SET state = 'delivered', delivered_at = $3, last_error = NULL
                      WHERE {subject} = $1 AND webhook = $2"
                ))
                .bind(subject_id)
                .bind(webhook_id)
                .bind(now)
                .execute(pool)
                .await?;
                report.delivered += 1;
            }
            Err(error) => {
                let give_up = attempts >= MAX_ATTEMPTS;
                tracing::warn!(%table, subject = %subject_id, attempts, give_up, %error, "webhook delivery failed");
                sqlx::query(&format!(
                    "UPDATE {table}
                        SET state = CASE WHEN $3 THEN 'failed' ELSE 'pending' END,
                            next_attempt_at = $4, last_error = $5
                      WHERE {subject} = $1 AND webhook = $2"
                ))
                .bind(subject_id)
                .bind(webhook_id)
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
        Ok(())
    }
}

/// Sends every delivery due at `now` and records the outcome of each.
pub async fn deliver_due(
    pool: &PgPool,
    client: &reqwest::Client,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, ServiceError> {
    let mut report = DeliveryReport::default();
    for (alert_id, webhook_id, attempts) in Outbox::Alerts.claim(pool, now).await? {
        let result = match webhooks.targets.iter().find(|w| w.id == webhook_id) {
            None => Err("this webhook is no longer configured".to_owned()),
            Some(webhook) => send(pool, client, webhooks, webhook, alert_id).await,
        };
        Outbox::Alerts
            .settle(
                pool,
                alert_id,
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

/// The JSON a webhook receives.
pub fn payload(alert: &Alert, public_url: Option<&str>) -> serde_json::Value {
    let rule = domain::alert::AlertRule::parse(&alert.rule).ok();
    json!({
        "id": alert.id,
        "rule": alert.rule,
        "title": rule.map(|r| r.title()),
        "severity": alert.severity,
        "subject": {
            "kind": alert.subject_kind,
            "id": alert.subject,
            "label": alert.subject_label,
        },
        "summary": alert.summary,
        "facts": alert.facts,
        "first_seen_at": alert.first_seen_at,
        "last_seen_at": alert.last_seen_at,
        "url": public_url.map(|u| format!("{}/alerts?rule={}", u.trim_end_matches('/'), alert.rule)),
    })
}

/// One alert's POST. The error says what went wrong, without the URL.
async fn send(
    pool: &PgPool,
    client: &reqwest::Client,
    webhooks: &Webhooks,
    webhook: &Webhook,
    alert_id: Uuid,
) -> Result<(), String> {
    let alert: Alert = sqlx::query_as(
        "SELECT id, rule, severity, subject_kind, subject, subject_label, summary, facts,
                first_seen_at, last_seen_at, acknowledged_at, acknowledged_by, acknowledge_note
           FROM alerts WHERE id = $1",
    )
    .bind(alert_id)
    .fetch_one(pool)
    .await
    .map_err(|e| format!("reading the alert: {e}"))?;
    let body = serde_json::to_vec(&payload(&alert, webhooks.public_url.as_deref()))
        .map_err(|e| format!("encoding the alert: {e}"))?;
    post(
        client,
        webhooks,
        webhook,
        ("X-Trustwatch-Alert", alert_id.to_string()),
        body,
    )
    .await
}

/// POSTs a JSON body to one webhook, signed when a secret is configured; `kind` is the header
/// that names what is sent (`X-Trustwatch-Alert: <id>`). The error says what went wrong, without
/// the URL (which may hold a token).
pub(crate) async fn post(
    client: &reqwest::Client,
    webhooks: &Webhooks,
    webhook: &Webhook,
    kind: (&'static str, String),
    body: Vec<u8>,
) -> Result<(), String> {
    let mut request = client
        .post(&webhook.url)
        .timeout(TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(kind.0, kind.1);
    if let Some(secret) = &webhooks.secret {
        let timestamp = Utc::now().timestamp();
        request = request
            .header("X-Trustwatch-Timestamp", timestamp.to_string())
            .header("X-Trustwatch-Signature", sign(secret, timestamp, &body));
    }
    let response = request
        .body(body)
        .send()
        .await
        // reqwest's errors name the URL; only the kind of failure is kept.
        .map_err(|e| {
            let e = e.without_url();
            format!("{} could not be reached: {e}", webhook.origin)
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let text = response.text().await.unwrap_or_default();
        Err(format!(
            "{} answered {status}: {}",
            webhook.origin,
            text.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), TimeDelta::seconds(30));
        assert_eq!(backoff(2), TimeDelta::seconds(60));
        assert_eq!(backoff(3), TimeDelta::seconds(120));
        assert_eq!(backoff(8), TimeDelta::seconds(3840).min(MAX_BACKOFF));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Python: hmac.new(b"Jefe", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        let secret = SecretString::from("Jefe");
        assert_eq!(
            sign(&secret, 1_700_000_000, br#"{"a":1}"#),
            "sha256=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
    }

    #[test]
    fn webhooks_are_named_without_their_secrets() {
        let w = Webhook::parse("https://hooks.example.com/services/T000/B000/XXXXSECRET").unwrap();
        assert_eq!(w.origin(), "https://hooks.example.com");
        assert!(!format!("{w:?}").contains("SECRET"));
        assert_eq!(w.id.len(), 64);
        assert!(Webhook::parse("ftp://example.com/x").is_err());
        assert!(Webhook::parse("not a url").is_err());
    }
}
