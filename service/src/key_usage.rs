//! What the signing keys have been used for, from the recorded signing events: when each key last
//! signed, which policies trust it, how much it signed per day and by whom, and the images it
//! signed. The Keys page and the key page read it; nothing here changes state.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::policy::Authority;
use domain::{KeyFingerprint, KeyGroup, Policy};
use sqlx::PgPool;
use uuid::Uuid;

use crate::keys::Key;
use crate::keyset::{split_page, Keyset};
use crate::{trust_bundle, ServiceError};

/// A policy that trusts a key, and the key group it goes through when it does not name the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    pub policy: String,
    pub mode: String,
    pub via_group: Option<String>,
}

/// A key as the inventory lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInUse {
    pub key: Key,
    /// The newest signing event of the key, by Trustwatch's recorded time.
    pub last_used: Option<DateTime<Utc>>,
    /// Sorted by policy name.
    pub trusted_by: Vec<Trust>,
}

/// Every key with its last use and the policies that trust it, ordered as `keys::list`.
pub async fn inventory(pool: &PgPool) -> Result<Vec<KeyInUse>, ServiceError> {
    // One probe of signing_events_key_recorded per key (the LATERAL's LIMIT 1 reads the newest
    // entry of the key's range), however many events there are.
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        key: Key,
        last_used: Option<DateTime<Utc>>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT k.id, k.name, k.fingerprint, k.algorithm, k.public_key_pem, k.owner_team,
                k.custody, k.custody_uri, k.status, k.valid_from, k.valid_until,
                k.rotation_period_days, k.compromised_since, k.revoked_at, k.created_at,
                u.recorded_at AS last_used
           FROM keys k
           LEFT JOIN LATERAL (SELECT s.recorded_at FROM signing_events s
                               WHERE s.key_fingerprint = k.fingerprint
                               ORDER BY s.recorded_at DESC LIMIT 1) AS u ON true
          ORDER BY k.owner_team, k.name",
    )
    .fetch_all(pool)
    .await?;
    let mut trust = trust_map(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| KeyInUse {
            trusted_by: trust.remove(&r.key.name).unwrap_or_default(),
            key: r.key,
            last_used: r.last_used,
        })
        .collect())
}

/// Which policies trust which key (by key name), directly or through a key group.
async fn trust_map(pool: &PgPool) -> Result<HashMap<String, Vec<Trust>>, ServiceError> {
    let mut conn = pool.acquire().await?;
    let groups = trust_bundle::load_key_groups(&mut conn).await?;
    let policies = trust_bundle::load_policies(&mut conn).await?;
    Ok(trusting_policies(&policies, &groups))
}

/// For each key name, the policies that accept its signatures: a policy names the key among its
/// authorities, or names a group the key belongs to. A policy that names both is listed once, as
/// trusting the key directly.
pub fn trusting_policies(policies: &[Policy], groups: &[KeyGroup]) -> HashMap<String, Vec<Trust>> {
    let members: HashMap<&str, &[String]> = groups.iter().map(|g| (g.name(), g.keys())).collect();
    let mut map: HashMap<String, Vec<Trust>> = HashMap::new();
    let mut sorted: Vec<&Policy> = policies.iter().collect();
    sorted.sort_by(|a, b| a.name().cmp(b.name()));
    for policy in sorted {
        let mut trusted: Vec<(&str, Option<&str>)> = Vec::new();
        for authority in policy.authorities() {
            match authority {
                Authority::Key(key) => {
                    trusted.retain(|(k, _)| k != key);
                    trusted.push((key, None));
                }
                Authority::Group(group) => {
                    for key in members.get(group.as_str()).copied().unwrap_or_default() {
                        if !trusted.iter().any(|(k, _)| k == key) {
                            trusted.push((key, Some(group)));
                        }
                    }
                }
            }
        }
        for (key, via) in trusted {
            map.entry(key.to_owned()).or_default().push(Trust {
                policy: policy.name().to_owned(),
                mode: policy.mode().as_str().to_owned(),
                via_group: via.map(str::to_owned),
            });
        }
    }
    map
}

/// The key with `fingerprint` in the inventory's terms; `None` when no key has it.
pub async fn get(
    pool: &PgPool,
    fingerprint: &KeyFingerprint,
) -> Result<Option<KeyInUse>, ServiceError> {
    // The inventory is small (keys, not events) and computing trust needs every policy anyway.
    Ok(inventory(pool)
        .await?
        .into_iter()
        .find(|k| k.key.fingerprint == fingerprint.as_str()))
}

/// Signatures one signer identity made on one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DailySignatures {
    pub day: NaiveDate,
    pub signer_identity: String,
    pub signatures: i64,
}

/// The key's signatures per UTC day and signer identity over the `days` days that end with
/// today (today included), oldest day first; days without signatures are absent. Read from
/// `key_signing_daily`, which ingestion keeps.
pub async fn daily_signatures(
    pool: &PgPool,
    fingerprint: &KeyFingerprint,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Vec<DailySignatures>, ServiceError> {
    let since = first_day(days, now);
    Ok(sqlx::query_as(
        "SELECT day, signer_identity, signatures
           FROM key_signing_daily
          WHERE key_fingerprint = $1 AND day >= $2
          ORDER BY 1, 2",
    )
    .bind(fingerprint.as_str())
    .bind(since)
    .fetch_all(pool)
    .await?)
}

/// The first of the `days` days that end with `now`'s day.
pub fn first_day(days: u32, now: DateTime<Utc>) -> NaiveDate {
    now.date_naive() - Duration::days(i64::from(days.max(1)) - 1)
}

/// A signer identity on one host, as the key's signing events report them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Signer {
    pub signer_identity: String,
    pub signer_host: Option<String>,
    pub signatures: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Who signed with the key, and from where: the `limit` most recently seen identity-host pairs,
/// and how many pairs there are in all (pipelines that put a run number in the identity make
/// many).
pub async fn signers(
    pool: &PgPool,
    fingerprint: &KeyFingerprint,
    limit: i64,
) -> Result<(Vec<Signer>, i64), ServiceError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        signer: Signer,
        pairs: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT signer_identity, nullif(signer_host, '') AS signer_host, signatures,
                first_seen, last_seen, count(*) OVER () AS pairs
           FROM key_signers
          WHERE key_fingerprint = $1
          ORDER BY last_seen DESC, signer_identity, signer_host = '', signer_host
          LIMIT $2",
    )
    .bind(fingerprint.as_str())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let pairs = rows.first().map_or(0, |r| r.pairs);
    Ok((rows.into_iter().map(|r| r.signer).collect(), pairs))
}

/// One image digest the key signed: one signing event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignedImage {
    pub id: Uuid,
    pub image: String,
    pub repository: String,
    pub digest: String,
    pub signer_identity: String,
    pub signer_host: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The key's signing events, newest first, `limit` at a time, each page after `before`; with the
/// position of the next page when there is one.
pub async fn signed_images(
    pool: &PgPool,
    fingerprint: &KeyFingerprint,
    before: Option<Keyset>,
    limit: i64,
) -> Result<(Vec<SignedImage>, Option<Keyset>), ServiceError> {
    // The row comparison lets the scan of signing_events_key_recorded start at the position;
    // ties in recorded_at (one batch, one time) are ordered by id.
    let rows: Vec<SignedImage> = sqlx::query_as(
        "SELECT id, image, repository, digest, signer_identity, signer_host, recorded_at
           FROM signing_events
          WHERE key_fingerprint = $1
            AND ($2::timestamptz IS NULL OR recorded_at <= $2)
            AND ($2::timestamptz IS NULL OR (recorded_at, id) < ($2, $3))
          ORDER BY recorded_at DESC, id DESC
          LIMIT $4",
    )
    .bind(fingerprint.as_str())
    .bind(before.map(|k| k.at))
    .bind(before.map(|k| k.id))
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(split_page(rows, limit, |r| Keyset {
        at: r.recorded_at,
        id: r.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> Policy {
        Policy::from_yaml(yaml).unwrap()
    }

    #[test]
    fn a_key_is_trusted_directly_or_through_its_groups() {
        let groups = vec![
            KeyGroup::new("release", vec!["ci-release".into(), "ci-backup".into()]).unwrap(),
            KeyGroup::new("empty-ish", vec!["ci-backup".into()]).unwrap(),
        ];
        let policies = vec![
            policy(
                "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: prod}\nspec:\n  images: [\"registry.example.com/**\"]\n  mode: enforce\n  authorities: {threshold: 1, keys: [ci-release], groups: [release]}\n",
            ),
            policy(
                "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: audit-all}\nspec:\n  images: [\"**\"]\n  mode: audit\n  authorities: {threshold: 1, groups: [release]}\n",
            ),
        ];
        let map = trusting_policies(&policies, &groups);
        assert_eq!(
            map["ci-release"],
            vec![
                Trust {
                    policy: "audit-all".into(),
                    mode: "audit".into(),
                    via_group: Some("release".into())
                },
                Trust {
                    policy: "prod".into(),
                    mode: "enforce".into(),
                    via_group: None
                },
            ]
        );
        assert_eq!(
            map["ci-backup"]
                .iter()
                .map(|t| (t.policy.as_str(), t.via_group.as_deref()))
                .collect::<Vec<_>>(),
            vec![("audit-all", Some("release")), ("prod", Some("release"))]
        );
        assert!(!map.contains_key("security-review"));
    }

    #[test]
    fn thirty_days_end_with_today() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(first_day(30, now).to_string(), "2026-10-27");
        assert_eq!(first_day(1, now).to_string(), "2026-11-25");
    }
}
