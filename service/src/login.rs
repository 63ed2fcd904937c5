//! Logging in: throttling, password check and the audit trail of every attempt.

use chrono::{DateTime, Utc};
use domain::Email;
use secrecy::SecretString;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::users::{User, UserRow};
use crate::{audit, password, Actor, ServiceError};

/// How many failures lock an account or an address, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    pub window: chrono::Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            window: chrono::Duration::minutes(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown account, wrong password or disabled account: one answer for all, so the form does
    /// not tell an attacker which accounts exist.
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("too many failed attempts; try again in {} minutes", minutes_rounded_up(*retry_after))]
    Throttled { retry_after: chrono::Duration },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        LoginError::Service(e.into())
    }
}

pub async fn login(
    pool: &PgPool,
    throttle: &Throttle,
    email_input: &str,
    password: SecretString,
    source_ip: &str,
) -> Result<User, LoginError> {
    // Malformed input is still throttled and audited under what was typed.
    let email = Email::parse(email_input)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| {
            email_input
                .trim()
                .to_lowercase()
                .chars()
                .take(254)
                .collect()
        });
    let actor = Actor {
        label: "anonymous".into(),
        source_ip: Some(source_ip.to_owned()),
    };
    let target = format!("user:{email}");

    if let Some(retry_after) = throttled(pool, throttle, &email, source_ip).await? {
        let mut tx = pool.begin().await?;
        audit::append(&mut tx, &actor, "auth.login_throttled", &target, json!({})).await?;
        tx.commit().await?;
        return Err(LoginError::Throttled { retry_after });
    }

    let found: Option<(Uuid, String, bool)> =
        sqlx::query_as("SELECT id, password_hash, disabled FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
    let matches = password::verify(password, found.as_ref().map(|f| f.1.clone())).await?;
    let failure = match &found {
        None => Some("unknown_account"),
        Some(_) if !matches => Some("wrong_password"),
        Some((_, _, true)) => Some("account_disabled"),
        Some(_) => None,
    };

    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO login_attempts (email, source_ip, succeeded) VALUES ($1, $2, $3)")
        .bind(&email)
        .bind(source_ip)
        .bind(failure.is_none())
        .execute(&mut *tx)
        .await?;
    if let Some(reason) = failure {
        audit::append(
            &mut tx,
            &actor,
            "auth.login_failed",
            &target,
            json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        return Err(LoginError::InvalidCredentials);
    }
    let Some((id, _, _)) = found else {
        return Err(LoginError::InvalidCredentials);
    };
    let row: UserRow = sqlx::query_as(
        "UPDATE users SET last_login_at = now() WHERE id = $1
         RETURNING id, email, role, disabled, must_change_password, created_at, last_login_at",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        &Actor::user(&email, Some(source_ip.to_owned())),
        "auth.login_succeeded",
        &target,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(row.try_into()?)
}

/// Whole minutes to wait, rounded up so "try again in N minutes" is never too early.
pub fn minutes_rounded_up(d: chrono::Duration) -> i64 {
    ((d.num_seconds() + 59) / 60).max(1)
}

/// Records a logout in the audit log.
pub async fn logout(pool: &PgPool, actor: &Actor, email: &str) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    audit::append(
        &mut tx,
        actor,
        "auth.logout",
        &format!("user:{email}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// When the account or the address has too many recent failures, how long until it may try again.
async fn throttled(
    pool: &PgPool,
    throttle: &Throttle,
    email: &str,
    source_ip: &str,
) -> Result<Option<chrono::Duration>, ServiceError> {
    let since = Utc::now() - throttle.window;
    let (account_failures, account_oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(at) FROM (
             SELECT at FROM login_attempts
              WHERE email = $1 AND NOT succeeded AND at > $2
              ORDER BY at DESC LIMIT $3) recent",
    )
    .bind(email)
    .bind(since)
    .bind(throttle.max_failures_per_account)
    .fetch_one(pool)
    .await?;
    let (address_failures, address_oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(at) FROM (
             SELECT at FROM login_attempts
              WHERE source_ip = $1 AND NOT succeeded AND at > $2
              ORDER BY at DESC LIMIT $3) recent",
    )
    .bind(source_ip)
    .bind(since)
    .bind(throttle.max_failures_per_address)
    .fetch_one(pool)
    .await?;
    // Locked until the oldest of the last N failures leaves the window.
    let lock_end = |failures: i64, max: i64, oldest: Option<DateTime<Utc>>| {
        (failures >= max)
            .then_some(oldest)
            .flatten()
            .map(|t| t + throttle.window - Utc::now())
    };
    Ok(lock_end(
        account_failures,
        throttle.max_failures_per_account,
        account_oldest,
    )
    .into_iter()
    .chain(lock_end(
        address_failures,
        throttle.max_failures_per_address,
        address_oldest,
    ))
    .max())
}
