//! Signing keys: the public halves and their lifecycle.
//!
//! Every change publishes a new trust-bundle version in the same transaction
//! (`trust_bundle::publish`), so a revocation reaches verifiers with the next bundle they fetch.

use chrono::{DateTime, TimeDelta, Utc};
use domain::policy::is_valid_key_name;
use domain::{KeyFingerprint, KeyStatus, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::trust_bundle::{self, Publisher};
use crate::{audit, Actor, ServiceError};

/// The owner recorded when an import names none.
pub const UNASSIGNED_OWNER: &str = "unassigned";

/// Where the private half is kept, as the owner told us.
pub const CUSTODIES: [&str; 3] = ["file", "kms", "hsm"];

/// How far in the future a status change's `since` may lie: clocks differ a little, but a
/// compromise or revocation is something that has happened.
pub(crate) const SINCE_SKEW: TimeDelta = TimeDelta::minutes(5);

/// A key to register. The fingerprint and algorithm must be those of the PEM (checked).
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

/// A public key to import, as `trustwatch keys import` and `POST /api/v1/keys` give it: the
/// fingerprint and algorithm are derived from the PEM.
#[derive(Debug, Clone)]
pub struct KeyImport {
    pub name: String,
    pub public_key_pem: String,
    pub owner_team: String,
    /// `file`, `kms` or `hsm`.
    pub custody: String,
    pub custody_uri: Option<String>,
    /// Default: now. Set it earlier for a key that signed images before it was imported:
    /// signatures recorded before `valid_from` do not count.
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub rotation_period_days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Key {
    pub id: Uuid,
    pub name: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub public_key_pem: String,
    pub owner_team: String,
    pub custody: String,
    pub custody_uri: Option<String>,
    pub status: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub rotation_period_days: Option<i32>,
    pub compromised_since: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A key after a change, and the trust-bundle version the change published (`None` when nothing
/// changed, so nothing was published).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyChange {
    pub key: Key,
    pub bundle_version: Option<u64>,
}

const COLUMNS: &str = "id, name, fingerprint, algorithm, public_key_pem, owner_team, custody,
    custody_uri, status, valid_from, valid_until, rotation_period_days, compromised_since,
    revoked_at, created_at";

fn check_new_key(key: &NewKey) -> Result<PublicKey, ServiceError> {
    let mut problems = Vec::new();
    if !is_valid_key_name(&key.name) {
        problems.push(format!(
            "name: {:?} is not a key name (1 to 100 characters, no surrounding spaces or control characters)",
            key.name
        ));
    }
    let owner = key.owner_team.trim();
    if owner.is_empty() || owner.chars().count() > 100 || owner != key.owner_team {
        problems.push("owner_team: name the owning team (1 to 100 characters)".to_owned());
    }
    if !CUSTODIES.contains(&key.custody.as_str()) {
        problems.push(format!(
            "custody: {:?} is not a custody: expected file, kms or hsm",
            key.custody
        ));
    }
    if key.rotation_period_days.is_some_and(|d| d < 1) {
        problems.push("rotation_period_days: must be at least 1".to_owned());
    }
    if key.valid_until.is_some_and(|u| u <= key.valid_from) {
        problems.push("valid_until: must be after valid_from".to_owned());
    }
    if key.status == KeyStatus::Compromised && key.compromised_since.is_none() {
        problems.push(
            "compromised_since: a compromised key needs the time it was compromised since"
                .to_owned(),
        );
    }
    let public_key = match PublicKey::parse_pem(&key.public_key_pem) {
        Ok(k) => Some(k),
        Err(e) => {
            problems.push(format!("public_key_pem: {e}"));
            None
        }
    };
    if let Some(k) = &public_key {
        if k.fingerprint() != &key.fingerprint {
            problems.push(format!(
                "fingerprint: {} is not the fingerprint of the public key ({})",
                key.fingerprint,
                k.fingerprint()
            ));
        }
        if k.algorithm().as_str() != key.algorithm {
            problems.push(format!(
                "algorithm: the public key is {}, not {}",
                k.algorithm(),
                key.algorithm
            ));
        }
    }
    match public_key {
        Some(k) if problems.is_empty() => Ok(k),
        _ => Err(ServiceError::Invalid(problems.join("; "))),
    }
}

/// Inserts a key and audits it, without publishing: for callers that publish once after several
/// changes in the same transaction (the demo).
pub(crate) async fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    key: &NewKey,
) -> Result<Key, ServiceError> {
    let public_key = check_new_key(key)?;
    let existing: Option<String> =
        sqlx::query_scalar("SELECT name FROM keys WHERE fingerprint = $1 OR name = $2")
            .bind(key.fingerprint.as_str())
            .bind(&key.name)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(existing) = existing {
        return Err(ServiceError::Conflict(if existing == key.name {
            format!("a key named {:?} exists already", key.name)
        } else {
            format!(
                "this public key is already imported as {existing:?} (fingerprint {})",
                key.fingerprint
            )
        }));
    }
    let row: Key = sqlx::query_as(&format!(
        "INSERT INTO keys (id, name, fingerprint, algorithm, public_key_pem, owner_team, custody,
                           custody_uri, status, valid_from, valid_until, rotation_period_days,
                           compromised_since, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                 CASE WHEN $9 = 'revoked' THEN now() END)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&key.name)
    .bind(key.fingerprint.as_str())
    .bind(&key.algorithm)
    .bind(public_key.to_pem())
    .bind(&key.owner_team)
    .bind(&key.custody)
    .bind(&key.custody_uri)
    .bind(key.status.as_str())
    .bind(key.valid_from)
    .bind(key.valid_until)
    .bind(key.rotation_period_days)
    .bind(key.compromised_since)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        ServiceError::unique_violation(
            e,
            format!("a key named {:?} or with that fingerprint exists", key.name),
        )
    })?;
    audit::append(
        conn,
        actor,
        "key.registered",
        &format!("key:{}", key.name),
        json!({
            "fingerprint": key.fingerprint.as_str(),
            "algorithm": key.algorithm,
            "owner_team": key.owner_team,
            "custody": key.custody,
            "status": key.status.as_str(),
            "valid_from": key.valid_from,
            "valid_until": key.valid_until,
            "rotation_period_days": key.rotation_period_days,
        }),
    )
    .await?;
    Ok(row)
}

/// Registers a key and publishes the bundle that contains it.
pub async fn register(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    key: &NewKey,
) -> Result<KeyChange, ServiceError> {
    let mut tx = pool.begin().await?;
    let change = register_in(&mut tx, actor, publisher, key).await?;
    tx.commit().await?;
    Ok(change)
}

/// As [`register`], inside the caller's transaction.
pub async fn register_in(
    tx: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    key: &NewKey,
) -> Result<KeyChange, ServiceError> {
    let row = insert(tx, actor, key).await?;
    let published = trust_bundle::publish(
        tx,
        actor,
        publisher,
        &format!("key {} registered", key.name),
    )
    .await?;
    Ok(KeyChange {
        key: row,
        bundle_version: Some(published.version),
    })
}

/// Imports a public key from its PEM (`PUBLIC KEY`, SPKI), active from `valid_from` (default
/// `now`), and publishes the bundle that contains it.
pub async fn import(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    key: &KeyImport,
    now: DateTime<Utc>,
) -> Result<KeyChange, ServiceError> {
    let mut tx = pool.begin().await?;
    let change = import_in(&mut tx, actor, publisher, key, now).await?;
    tx.commit().await?;
    Ok(change)
}

/// As [`import`], inside the caller's transaction.
pub async fn import_in(
    tx: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    key: &KeyImport,
    now: DateTime<Utc>,
) -> Result<KeyChange, ServiceError> {
    let public_key = PublicKey::parse_pem(&key.public_key_pem)
        .map_err(|e| ServiceError::Invalid(format!("public_key_pem: {e}")))?;
    register_in(
        tx,
        actor,
        publisher,
        &NewKey {
            name: key.name.clone(),
            fingerprint: public_key.fingerprint().clone(),
            algorithm: public_key.algorithm().as_str().to_owned(),
            public_key_pem: public_key.to_pem(),
            owner_team: key.owner_team.clone(),
            custody: key.custody.clone(),
            custody_uri: key.custody_uri.clone().filter(|u| !u.trim().is_empty()),
            status: KeyStatus::Active,
            valid_from: key.valid_from.unwrap_or(now),
            valid_until: key.valid_until,
            rotation_period_days: key.rotation_period_days,
            compromised_since: None,
        },
    )
    .await
}

/// Changes a key's lifecycle status and publishes the bundle that says so.
///
/// - `compromised` needs `since`, the time from which signatures no longer count (Trustwatch's
///   record of a signature made before it still counts);
/// - `revoked` sets `revoked_at` to `since` or `now`: no signature counts any more;
/// - `retiring` and `active` take no `since`. A compromised key is never trusted again (import a
///   new key); a revoked key may be reinstated, which clears `revoked_at`.
///
/// Setting the status a key already has, with the same time, changes nothing and publishes
/// nothing.
pub async fn set_status(
    pool: &PgPool,
    actor: &Actor,
    publisher: &Publisher,
    name: &str,
    status: KeyStatus,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<KeyChange, ServiceError> {
    let mut tx = pool.begin().await?;
    let change = set_status_in(&mut tx, actor, publisher, name, status, since, now).await?;
    tx.commit().await?;
    Ok(change)
}

/// As [`set_status`], inside the caller's transaction (an incident step records the change it
/// made in the same transaction as the change).
#[allow(clippy::too_many_arguments)]
pub async fn set_status_in(
    tx: &mut PgConnection,
    actor: &Actor,
    publisher: &Publisher,
    name: &str,
    status: KeyStatus,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<KeyChange, ServiceError> {
    if since.is_some_and(|s| s > now + SINCE_SKEW) {
        return Err(ServiceError::Invalid(
            "since: lies in the future; give the time the key was (or is) compromised or revoked"
                .into(),
        ));
    }
    let key: Key = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM keys WHERE name = $1 FOR NO KEY UPDATE"
    ))
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ServiceError::NotFound(format!("key {name:?}")))?;
    let current = KeyStatus::parse(&key.status)?;
    let (compromised_since, revoked_at) = match status {
        KeyStatus::Compromised => {
            let since = since.ok_or_else(|| {
                ServiceError::Invalid(
                    "since: a compromised key needs the time it was compromised since".into(),
                )
            })?;
            // A correction from revoked to compromised-since-T is allowed and audited.
            (Some(since), None)
        }
        KeyStatus::Revoked => (
            key.compromised_since,
            Some(match (current, key.revoked_at, since) {
                (_, _, Some(s)) => s,
                // Revoking again keeps the first revocation's time.
                (KeyStatus::Revoked, Some(at), None) => at,
                _ => now,
            }),
        ),
        KeyStatus::Active | KeyStatus::Retiring => {
            if since.is_some() {
                return Err(ServiceError::Invalid(format!(
                    "since: applies to revoked and compromised, not to {status}"
                )));
            }
            if current == KeyStatus::Compromised || key.compromised_since.is_some() {
                return Err(ServiceError::Conflict(format!(
                    "key {name:?} is compromised: it cannot be trusted again. Import a new key for the team and change the policies to trust it"
                )));
            }
            (None, None)
        }
    };
    if current == status
        && compromised_since == key.compromised_since
        && revoked_at == key.revoked_at
    {
        return Ok(KeyChange {
            key,
            bundle_version: None,
        });
    }
    let updated: Key = sqlx::query_as(&format!(
        "UPDATE keys SET status = $2, compromised_since = $3, revoked_at = $4
          WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(key.id)
    .bind(status.as_str())
    .bind(compromised_since)
    .bind(revoked_at)
    .fetch_one(&mut *tx)
    .await?;
    audit::append(
        tx,
        actor,
        "key.status_changed",
        &format!("key:{name}"),
        json!({
            "fingerprint": key.fingerprint,
            "from": key.status,
            "to": status.as_str(),
            "compromised_since": compromised_since,
            "revoked_at": revoked_at,
        }),
    )
    .await?;
    let published =
        trust_bundle::publish(tx, actor, publisher, &format!("key {name} is now {status}")).await?;
    Ok(KeyChange {
        key: updated,
        bundle_version: Some(published.version),
    })
}

pub async fn get(pool: &PgPool, name: &str) -> Result<Option<Key>, ServiceError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM keys WHERE name = $1"))
            .bind(name)
            .fetch_optional(pool)
            .await?,
    )
}

/// As [`get`], inside the caller's transaction.
pub async fn get_in(conn: &mut PgConnection, name: &str) -> Result<Option<Key>, ServiceError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM keys WHERE name = $1"))
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn list(pool: &PgPool) -> Result<Vec<Key>, ServiceError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM keys ORDER BY owner_team, name"
    ))
    .fetch_all(pool)
    .await?)
}

/// The names of all keys, for checking what documents refer to.
pub(crate) async fn names(conn: &mut PgConnection) -> Result<Vec<String>, ServiceError> {
    Ok(sqlx::query_scalar("SELECT name FROM keys ORDER BY name")
        .fetch_all(&mut *conn)
        .await?)
}
