//! Writing, reading and verifying the audit log (the chain itself is `domain::audit`).

use chrono::{DateTime, Utc};
use domain::audit::{AuditRecord, GENESIS_HASH};
use domain::{AuditEntry, ChainStatus, ChainVerifier};
use sqlx::{PgConnection, PgPool};

use crate::{Actor, ServiceError};

/// Serializes appends so the chain never forks; held until the appending transaction ends.
const APPEND_LOCK: i64 = 0x7472_7573_7477_6174; // "trustwat"

/// Appends one entry inside the caller's transaction, so the entry exists exactly when the change
/// it records does.
pub async fn append(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<AuditEntry, ServiceError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *conn)
        .await?;
    let last: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_vec()),
    };
    let entry = AuditRecord {
        actor: actor.label.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
        source_ip: actor.source_ip.clone(),
    }
    .seal(seq, Utc::now(), &prev_hash);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, source_ip, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entry.seq)
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.detail)
    .bind(&entry.source_ip)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut *conn)
    .await?;
    Ok(entry)
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    target: String,
    detail: serde_json::Value,
    source_ip: Option<String>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl From<Row> for AuditEntry {
    fn from(r: Row) -> Self {
        AuditEntry {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
            source_ip: r.source_ip,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Filters for the audit page. Text filters match substrings, case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Only entries with `seq` below this one (keyset pagination, newest first).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

pub async fn list(pool: &PgPool, filter: &AuditFilter) -> Result<Vec<AuditEntry>, ServiceError> {
    let like = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                format!(
                    "%{}%",
                    s.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            })
    };
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, actor, action, target, detail, source_ip, prev_hash, hash
           FROM audit_log
          WHERE ($1::text IS NULL OR actor ILIKE $1)
            AND ($2::text IS NULL OR action ILIKE $2)
            AND ($3::text IS NULL OR target ILIKE $3)
            AND ($4::bigint IS NULL OR seq < $4)
          ORDER BY seq DESC
          LIMIT $5",
    )
    .bind(like(&filter.actor))
    .bind(like(&filter.action))
    .bind(like(&filter.target))
    .bind(filter.before_seq)
    .bind(filter.limit.clamp(1, 1000))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// Every entry about one target (`incident:<id>`, say), oldest first.
pub async fn for_target(pool: &PgPool, target: &str) -> Result<Vec<AuditEntry>, ServiceError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, actor, action, target, detail, source_ip, prev_hash, hash
           FROM audit_log WHERE target = $1 ORDER BY seq",
    )
    .bind(target)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}

/// Verifies the whole chain from its first entry, reading it in pages so memory stays flat.
pub async fn verify(pool: &PgPool) -> Result<ChainStatus, ServiceError> {
    const PAGE: i64 = 5000;
    let mut verifier = ChainVerifier::default();
    let mut after = 0i64;
    loop {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, at, actor, action, target, detail, source_ip, prev_hash, hash
               FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        let n = rows.len() as i64;
        for row in rows {
            after = row.seq;
            verifier.push(&AuditEntry::from(row));
        }
        if n < PAGE {
            break;
        }
    }
    Ok(verifier.finish())
}
