//! Blast radius: what a key signed at or after T, and where those digests were admitted.
//!
//! Signatures are grouped by repository and signer identity. A group is flagged anomalous when
//! its signer identity, or one of its hosts, had never used the key before T (`key_signers`
//! keeps each signer's first use, so this needs no scan of the key's history): an attacker's
//! signatures rarely come from the release pipeline's own identity and runners. Workloads are the
//! admissions of those digests per cluster, namespace and workload; one admitted within the last
//! day is shown as probably still running, which is as far as admission events can tell.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::PgExecutor;

use crate::ServiceError;

/// Rows shown per table; the CSV has the same rows. A key that signed more than this after T
/// is a fleet-wide incident, and the page says the list is cut.
pub const MAX_ROWS: i64 = 1000;

/// Admitted this recently: probably still running.
pub const RECENT: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SignatureGroup {
    pub repository: String,
    pub signer_identity: String,
    /// Hosts as the signers reported them ('' when a signer did not say).
    pub signer_hosts: Vec<String>,
    pub signatures: i64,
    pub digests: i64,
    pub first_signed: DateTime<Utc>,
    pub last_signed: DateTime<Utc>,
    /// The identity had never used this key before T.
    pub new_identity: bool,
    /// Hosts that had never used this key before T.
    pub new_hosts: Vec<String>,
}

impl SignatureGroup {
    pub fn anomalous(&self) -> bool {
        self.new_identity || !self.new_hosts.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AffectedWorkload {
    pub cluster: String,
    pub namespace: String,
    pub workload_kind: String,
    pub workload_name: String,
    pub image: String,
    pub digest: String,
    pub admissions: i64,
    pub last_admitted: DateTime<Utc>,
}

impl AffectedWorkload {
    pub fn probably_running(&self, now: DateTime<Utc>) -> bool {
        now - self.last_admitted <= RECENT
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlastRadius {
    pub key_fingerprint: String,
    pub since: DateTime<Utc>,
    pub signatures: i64,
    pub digests: i64,
    pub groups: Vec<SignatureGroup>,
    pub workloads: Vec<AffectedWorkload>,
    /// More groups or workloads exist than are listed.
    pub truncated: bool,
}

/// The blast radius of `key_fingerprint` from `since` (T).
pub async fn compute<'c, E>(
    db: E,
    key_fingerprint: &str,
    since: DateTime<Utc>,
) -> Result<BlastRadius, ServiceError>
where
    E: PgExecutor<'c> + Copy,
{
    let (signatures, digests): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT digest) FROM signing_events
          WHERE key_fingerprint = $1 AND recorded_at >= $2",
    )
    .bind(key_fingerprint)
    .bind(since)
    .fetch_one(db)
    .await?;
    let groups: Vec<SignatureGroup> = sqlx::query_as(
        "WITH after AS (
             SELECT repository, signer_identity, coalesce(signer_host, '') AS signer_host,
                    digest, recorded_at
               FROM signing_events
              WHERE key_fingerprint = $1 AND recorded_at >= $2)
         SELECT a.repository, a.signer_identity,
                array_agg(DISTINCT a.signer_host ORDER BY a.signer_host) AS signer_hosts,
                count(*) AS signatures, count(DISTINCT a.digest) AS digests,
                min(a.recorded_at) AS first_signed, max(a.recorded_at) AS last_signed,
                NOT EXISTS (SELECT 1 FROM key_signers s
                             WHERE s.key_fingerprint = $1 AND s.signer_identity = a.signer_identity
                               AND s.first_seen < $2) AS new_identity,
                coalesce(array(
                    SELECT DISTINCT h.signer_host FROM after h
                     WHERE h.repository = a.repository AND h.signer_identity = a.signer_identity
                       AND h.signer_host <> ''
                       AND NOT EXISTS (SELECT 1 FROM key_signers s
                                        WHERE s.key_fingerprint = $1
                                          AND s.signer_host = h.signer_host
                                          AND s.first_seen < $2)
                     ORDER BY 1), '{}') AS new_hosts
           FROM after a
          GROUP BY a.repository, a.signer_identity
          ORDER BY new_identity DESC, signatures DESC, a.repository, a.signer_identity
          LIMIT $3",
    )
    .bind(key_fingerprint)
    .bind(since)
    .bind(MAX_ROWS + 1)
    .fetch_all(db)
    .await?;
    let workloads: Vec<AffectedWorkload> = sqlx::query_as(
        "SELECT c.name AS cluster, e.namespace, e.workload_kind, e.workload_name, e.image,
                e.digest, count(*) AS admissions, max(e.observed_at) AS last_admitted
           FROM verification_events e
           JOIN clusters c ON c.id = e.cluster_id
          WHERE e.outcome = 'admitted'
            AND e.digest IN (SELECT DISTINCT digest FROM signing_events
                              WHERE key_fingerprint = $1 AND recorded_at >= $2)
          GROUP BY 1, 2, 3, 4, 5, 6
          ORDER BY last_admitted DESC, 1, 2, 4
          LIMIT $3",
    )
    .bind(key_fingerprint)
    .bind(since)
    .bind(MAX_ROWS + 1)
    .fetch_all(db)
    .await?;
    let truncated = groups.len() as i64 > MAX_ROWS || workloads.len() as i64 > MAX_ROWS;
    let cut = |n: usize| n.min(MAX_ROWS as usize);
    Ok(BlastRadius {
        key_fingerprint: key_fingerprint.to_owned(),
        since,
        signatures,
        digests,
        groups: groups[..cut(groups.len())].to_vec(),
        workloads: workloads[..cut(workloads.len())].to_vec(),
        truncated,
    })
}

/// The digests the key signed at or after `since` (every digest it ever signed when `since` is
/// `None`, after an outright revocation): the images to re-sign with the replacement key.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DigestToResign {
    pub repository: String,
    pub digest: String,
    pub last_signed: DateTime<Utc>,
    /// Signed by another key that is still trusted since: nothing to do.
    pub resigned: bool,
}

pub async fn digests_to_resign<'c, E: PgExecutor<'c>>(
    db: E,
    key_fingerprint: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<DigestToResign>, ServiceError> {
    Ok(sqlx::query_as(
        "SELECT s.repository, s.digest, max(s.recorded_at) AS last_signed,
                EXISTS (SELECT 1 FROM signing_events o JOIN keys k ON k.fingerprint = o.key_fingerprint
                         WHERE o.digest = s.digest AND o.key_fingerprint <> $1
                           AND k.status IN ('active', 'retiring')) AS resigned
           FROM signing_events s
          WHERE s.key_fingerprint = $1 AND ($2::timestamptz IS NULL OR s.recorded_at >= $2)
          GROUP BY 1, 2
          ORDER BY resigned, last_signed DESC
          LIMIT $3",
    )
    .bind(key_fingerprint)
    .bind(since)
    .bind(MAX_ROWS)
    .fetch_all(db)
    .await?)
}

/// The blast radius as CSV: one row per signature group, then one per workload, with a `table`
/// column saying which, so owning teams get one file.
pub fn to_csv(b: &BlastRadius) -> String {
    let mut out = String::from(
        "table,repository,signer_identity,signer_hosts,signatures,digests,first_signed,last_signed,anomalous,cluster,namespace,workload_kind,workload_name,image,digest,admissions,last_admitted\n",
    );
    let f = crate::trends::csv_field;
    for g in &b.groups {
        out.push_str(&format!(
            "signatures,{},{},{},{},{},{},{},{},,,,,,,,\n",
            f(&g.repository),
            f(&g.signer_identity),
            f(&g.signer_hosts.join(" ")),
            g.signatures,
            g.digests,
            g.first_signed.to_rfc3339(),
            g.last_signed.to_rfc3339(),
            g.anomalous()
        ));
    }
    for w in &b.workloads {
        out.push_str(&format!(
            "workloads,,,,,,,,,{},{},{},{},{},{},{},{}\n",
            f(&w.cluster),
            f(&w.namespace),
            f(&w.workload_kind),
            f(&w.workload_name),
            f(&w.image),
            f(&w.digest),
            w.admissions,
            w.last_admitted.to_rfc3339()
        ));
    }
    out
}
