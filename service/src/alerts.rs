//! Alerts: the rules of `domain::alert` run over the event tables, their findings stored once per
//! condition, listed, acknowledged, and sent to webhooks.
//!
//! `evaluate_now` is the whole evaluation at a given `now` (the server runs it every minute;
//! tests call it with a fixed time). A finding's `dedupe_scope` names its condition: seen again,
//! it updates the alert it raised (last seen, numbers) instead of raising another. Rules over a
//! sliding window (volume, rejection rate) continue an alert while the condition keeps being
//! seen, and raise a new one after a quiet spell.

pub(crate) mod deliver;
mod gather;
mod store;

use chrono::{DateTime, TimeDelta, Utc};
use domain::alert::{self, Finding};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{audit, Actor, ServiceError};

pub use deliver::{deliver_due, sign, DeliveryReport, Webhook, Webhooks};
pub use gather::{
    HOURS_BASELINE, REJECTION_BASELINE, REVOKED_USE_WINDOW, SIGNING_WINDOW, VOLUME_BASELINE,
};
pub use store::{
    acknowledge, count_open, count_open_by_rule, deliveries, list, Alert, AlertFilter, AlertState,
    Delivery,
};

/// Serializes evaluations (several replicas, or the timer and a test), so two of them never
/// raise the same condition twice.
const EVALUATE_LOCK: i64 = 0x616c_6572_7473; // "alerts"

/// What an evaluation needs besides the data.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// A cluster silent for longer is stale (the Overview's limit); it is also the time a
    /// cluster has to pick up a newly published trust bundle.
    pub stale_after: TimeDelta,
    /// Where new alerts are sent; a delivery is queued for each.
    pub webhooks: Webhooks,
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluationReport {
    /// Alerts raised for conditions not seen before.
    pub raised: usize,
    /// Alerts whose condition was seen again.
    pub updated: usize,
}

/// Runs every rule at `now` and stores what they found, in one transaction.
#[tracing::instrument(skip_all, fields(%now))]
pub async fn evaluate_now(
    pool: &PgPool,
    actor: &Actor,
    config: &AlertConfig,
    now: DateTime<Utc>,
) -> Result<EvaluationReport, ServiceError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVALUATE_LOCK)
        .execute(&mut *tx)
        .await?;
    let findings = find(&mut tx, config, now).await?;
    let mut report = EvaluationReport::default();
    for f in &findings {
        if record(&mut tx, actor, config, f, now).await? {
            report.raised += 1;
        } else {
            report.updated += 1;
        }
    }
    tx.commit().await?;
    if report.raised > 0 {
        tracing::info!(raised = report.raised, "alerts raised");
    }
    Ok(report)
}

async fn find(
    conn: &mut PgConnection,
    config: &AlertConfig,
    now: DateTime<Utc>,
) -> Result<Vec<Finding>, ServiceError> {
    let mut findings = Vec::new();
    for k in gather::untrusted_keys(conn, now).await? {
        findings.extend(alert::revoked_key_use::revoked_key_use(&k));
    }
    let recent = gather::recent_signings(conn, now).await?;
    for h in gather::signer_histories(conn, &recent, now).await? {
        findings.extend(alert::new_signer::new_signers(&h));
    }
    for p in gather::hour_profiles(conn, &recent, now).await? {
        findings.extend(alert::off_hours::off_hours(&p));
    }
    for v in gather::signing_volumes(conn, &recent, now).await? {
        findings.extend(alert::volume_spike::volume_spike(&v, now));
    }
    for c in gather::cluster_outcomes(conn, now).await? {
        findings.extend(alert::rejection_rate::rejection_rate_jump(&c, now));
    }
    for c in gather::heartbeats(conn).await? {
        findings.extend(alert::silent_cluster::silent_cluster(
            &c,
            config.stale_after,
            now,
        ));
    }
    for l in gather::bundle_lags(conn).await? {
        findings.extend(alert::stale_bundle::bundle_behind(
            &l,
            config.stale_after,
            now,
        ));
    }
    Ok(findings)
}

/// Stores one finding: a new alert (audited, deliveries queued; returns true) or an update of
/// the alert its condition raised before.
async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    config: &AlertConfig,
    f: &Finding,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let scope = f.dedupe_scope();
    let dedupe_key = match f.continues_within {
        None => scope.clone(),
        Some(within) => {
            let episode: Option<String> = sqlx::query_scalar(
                "SELECT dedupe_key FROM alerts
                  WHERE dedupe_scope = $1 AND last_seen_at >= $2
                  ORDER BY last_seen_at DESC LIMIT 1",
            )
            .bind(&scope)
            .bind(now - within)
            .fetch_optional(&mut *conn)
            .await?;
            episode.unwrap_or_else(|| format!("{scope}|{}", f.observed_at.to_rfc3339()))
        }
    };
    let (id, inserted): (Uuid, bool) = sqlx::query_as(
        "INSERT INTO alerts (id, rule, severity, subject_kind, subject, subject_label,
                             dedupe_scope, dedupe_key, summary, facts, first_seen_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
         ON CONFLICT (dedupe_key) DO UPDATE
            SET last_seen_at = greatest(alerts.last_seen_at, EXCLUDED.last_seen_at),
                summary = EXCLUDED.summary,
                facts = EXCLUDED.facts
         RETURNING id, (xmax = 0)",
    )
    .bind(Uuid::now_v7())
    .bind(f.rule.as_str())
    .bind(f.rule.severity().as_str())
    .bind(f.subject.kind())
    .bind(f.subject.id())
    .bind(f.subject.label())
    .bind(&scope)
    .bind(&dedupe_key)
    .bind(&f.summary)
    .bind(&f.facts)
    .bind(f.observed_at)
    .fetch_one(&mut *conn)
    .await?;
    if !inserted {
        return Ok(false);
    }
    audit::append(
        conn,
        actor,
        "alert.raised",
        &format!("alert:{id}"),
        json!({
            "rule": f.rule.as_str(),
            "subject": f.subject.id(),
            "summary": f.summary,
        }),
    )
    .await?;
    deliver::queue(conn, id, &config.webhooks, now).await?;
    Ok(true)
}
