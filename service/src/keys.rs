//! Signing keys: the public halves and their lifecycle.

use chrono::{DateTime, Utc};
use domain::{KeyFingerprint, KeyStatus};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{audit, Actor, ServiceError};

/// A key to register. The fingerprint must be the SHA-256 of the SPKI DER inside the PEM.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub fingerprint: KeyFingerprint,
    pub algorithm: String,
    pub public_key_pem: String,
    pub owner_team: String,
    pub custody: String,
    pub custody_uri: Option<String>,
    pub status: KeyStatus,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub rotation_period_days: Option<i32>,
    pub compromised_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Key {
    pub id: Uuid,
    pub name: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub owner_team: String,
    pub custody: String,
    pub status: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub rotation_period_days: Option<i32>,
    pub compromised_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn register(pool: &PgPool, actor: &Actor, key: &NewKey) -> Result<Uuid, ServiceError> {
    if key.status == KeyStatus::Compromised && key.compromised_since.is_none() {
        return Err(ServiceError::Invalid(
            "a compromised key needs the time it was compromised since".into(),
        ));
    }
    let mut tx = pool.begin().await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO keys (id, name, fingerprint, algorithm, public_key_pem, owner_team, custody,
                           custody_uri, status, valid_from, valid_until, rotation_period_days,
                           compromised_since, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                 CASE WHEN $9 = 'revoked' THEN now() END)",
    )
    .bind(id)
    .bind(&key.name)
    .bind(key.fingerprint.as_str())
    .bind(&key.algorithm)
    .bind(&key.public_key_pem)
    .bind(&key.owner_team)
    .bind(&key.custody)
    .bind(&key.custody_uri)
    .bind(key.status.as_str())
    .bind(key.valid_from)
    .bind(key.valid_until)
    .bind(key.rotation_period_days)
    .bind(key.compromised_since)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        ServiceError::unique_violation(
            e,
            format!("a key named {:?} or with that fingerprint exists", key.name),
        )
    })?;
    audit::append(
        &mut tx,
        actor,
        "key.registered",
        &format!("key:{}", key.name),
        json!({
            "fingerprint": key.fingerprint.as_str(),
            "algorithm": key.algorithm,
            "owner_team": key.owner_team,
            "custody": key.custody,
            "status": key.status.as_str(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn list(pool: &PgPool) -> Result<Vec<Key>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT id, name, fingerprint, algorithm, owner_team, custody, status, valid_from, valid_until,
                rotation_period_days, compromised_since, created_at
           FROM keys ORDER BY owner_team, name",
    )
    .fetch_all(pool)
    .await?)
}
