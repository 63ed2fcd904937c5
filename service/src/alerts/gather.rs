//! The rules' inputs, read from the event tables. Each function feeds one rule of
//! `domain::alert`; the windows are stated here, the thresholds there.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::alert::new_signer::{signer_of, SignerHistory, Signing};
use domain::alert::off_hours::HourProfile;
use domain::alert::rejection_rate::{ClusterOutcomes, Counts};
use domain::alert::revoked_key_use::{KeyUse, RelyingAdmission, UntrustedKey};
use domain::alert::silent_cluster::ClusterHeartbeat;
use domain::alert::stale_bundle::BundleLag;
use domain::alert::volume_spike::{self, SigningVolume};
use domain::alert::KeyRef;
use domain::KeyStatus;
use sqlx::PgConnection;

use crate::ServiceError;

/// Signatures this recent are judged by the signing rules (new signer, off hours). An
/// evaluation runs every minute; a day covers a server that was down for a while. The window
/// starts on a whole hour (see `signing_window_start`).
pub const SIGNING_WINDOW: TimeDelta = TimeDelta::hours(24);
/// How far back the off-hours rule learns a key's usual hours.
pub const HOURS_BASELINE: TimeDelta = TimeDelta::days(28);
/// The volume rule compares the last hour with the hours of the previous 14 days.
pub const VOLUME_BASELINE: TimeDelta = TimeDelta::days(14);
/// Uses of revoked and compromised keys are looked for this far back (from the start of that
/// UTC day): the alert that matters most is the last one to miss after an outage.
pub const REVOKED_USE_WINDOW: TimeDelta = TimeDelta::days(7);

/// Windows start on a whole hour or day, the units alerts are grouped in (an off-hours alert per
/// clock hour, a revoked-key alert per day): a group is then either wholly inside the window or
/// wholly outside, and the numbers of an alert never shrink as the window slides past it.
fn truncated(t: DateTime<Utc>, unit: TimeDelta) -> Result<DateTime<Utc>, ServiceError> {
    t.duration_trunc(unit)
        .map_err(|e| ServiceError::Internal(format!("truncating {t}: {e}")))
}

pub fn signing_window_start(now: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
    truncated(now - SIGNING_WINDOW, TimeDelta::hours(1))
}
/// The rejection-rate rule's baseline.
pub const REJECTION_BASELINE: TimeDelta = TimeDelta::days(7);

#[derive(sqlx::FromRow)]
struct RecentSigning {
    key_fingerprint: String,
    key_name: Option<String>,
    signer_identity: String,
    signer_host: Option<String>,
    recorded_at: DateTime<Utc>,
}

/// Signatures in the signing window, grouped by key, oldest first.
pub struct RecentSignings(BTreeMap<String, (KeyRef, Vec<Signing>)>);

pub async fn recent_signings(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<RecentSignings, ServiceError> {
    let rows: Vec<RecentSigning> = sqlx::query_as(
        "SELECT e.key_fingerprint, k.name AS key_name, e.signer_identity, e.signer_host, e.recorded_at
           FROM signing_events e LEFT JOIN keys k ON k.fingerprint = e.key_fingerprint
          WHERE e.recorded_at > $1 AND e.recorded_at <= $2
          ORDER BY e.recorded_at, e.id",
    )
    .bind(signing_window_start(now)?)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_key: BTreeMap<String, (KeyRef, Vec<Signing>)> = BTreeMap::new();
    for r in rows {
        by_key
            .entry(r.key_fingerprint.clone())
            .or_insert_with(|| {
                (
                    KeyRef {
                        fingerprint: r.key_fingerprint.clone(),
                        name: r.key_name.clone(),
                    },
                    Vec::new(),
                )
            })
            .1
            .push(Signing {
                identity: r.signer_identity,
                host: r.signer_host,
                recorded_at: r.recorded_at,
            });
    }
    Ok(RecentSignings(by_key))
}

/// For each key that signed in the window: how much it signed before, and which of the window's
/// signers and hosts it had been used by before. Each is an `EXISTS` over the key's index, which
/// stops at the first match, so a known signer costs little however long the key's history;
/// only a new one is looked for through all of it.
pub async fn signer_histories(
    conn: &mut PgConnection,
    recent: &RecentSignings,
    now: DateTime<Utc>,
) -> Result<Vec<SignerHistory>, ServiceError> {
    let window_start = signing_window_start(now)?;
    let mut out = Vec::new();
    for (fingerprint, (key, signings)) in &recent.0 {
        let signatures_before: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM signing_events WHERE key_fingerprint = $1 AND recorded_at <= $2",
        )
        .bind(fingerprint)
        .bind(window_start)
        .fetch_one(&mut *conn)
        .await?;
        let signers: BTreeSet<&str> = signings.iter().map(|s| signer_of(&s.identity)).collect();
        let hosts: BTreeSet<&str> = signings.iter().filter_map(|s| s.host.as_deref()).collect();
        let mut known_signers = BTreeSet::new();
        for signer in signers {
            // The suffix stripped is domain::alert::new_signer::signer_of's.
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM signing_events
                                 WHERE key_fingerprint = $1 AND recorded_at <= $2
                                   AND regexp_replace(signer_identity, '#[0-9]+$', '') = $3
                                )",
            )
            .bind(fingerprint)
            .bind(window_start)
            .bind(signer)
            .fetch_one(&mut *conn)
            .await?;
            if known {
                known_signers.insert(signer.to_owned());
            }
        }
        let mut known_hosts = BTreeSet::new();
        for host in hosts {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM signing_events
                                 WHERE key_fingerprint = $1 AND recorded_at <= $2
                                   AND signer_host = $3
                                )",
            )
            .bind(fingerprint)
            .bind(window_start)
            .bind(host)
            .fetch_one(&mut *conn)
            .await?;
            if known {
                known_hosts.insert(host.to_owned());
            }
        }
        out.push(SignerHistory {
            key: key.clone(),
            signatures_before,
            known_signers,
            known_hosts,
            recent: signings.clone(),
        });
    }
    Ok(out)
}

/// For each key that signed in the window: its signatures by hour of day before the window.
pub async fn hour_profiles(
    conn: &mut PgConnection,
    recent: &RecentSignings,
    now: DateTime<Utc>,
) -> Result<Vec<HourProfile>, ServiceError> {
    let window_start = signing_window_start(now)?;
    let mut out = Vec::new();
    for (fingerprint, (key, signings)) in &recent.0 {
        let rows: Vec<(i32, i64)> = sqlx::query_as(
            "SELECT extract(hour FROM recorded_at AT TIME ZONE 'UTC')::int, count(*)
               FROM signing_events
              WHERE key_fingerprint = $1 AND recorded_at > $2 AND recorded_at <= $3
              GROUP BY 1",
        )
        .bind(fingerprint)
        .bind(window_start - HOURS_BASELINE)
        .bind(window_start)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_hour = [0_i64; 24];
        for (hour, n) in rows {
            if let Some(slot) = usize::try_from(hour).ok().and_then(|h| by_hour.get_mut(h)) {
                *slot = n;
            }
        }
        out.push(HourProfile {
            key: key.clone(),
            baseline_by_hour: by_hour,
            baseline_days: HOURS_BASELINE.num_days(),
            recent: signings.iter().map(|s| s.recorded_at).collect(),
        });
    }
    Ok(out)
}

/// For each key with enough signatures in the last hour to be a spike at all: its hourly
/// counts over the baseline. (Keys below the rule's minimum cannot fire; their history is not
/// read.)
pub async fn signing_volumes(
    conn: &mut PgConnection,
    recent: &RecentSignings,
    now: DateTime<Utc>,
) -> Result<Vec<SigningVolume>, ServiceError> {
    let hour_ago = now - TimeDelta::hours(1);
    let mut out = Vec::new();
    for (fingerprint, (key, signings)) in &recent.0 {
        let last_hour = signings.iter().filter(|s| s.recorded_at > hour_ago).count() as i64;
        if last_hour < volume_spike::MIN_SIGNATURES {
            continue;
        }
        let hourly: Vec<i64> = sqlx::query_scalar(
            "SELECT count(*) FROM signing_events
              WHERE key_fingerprint = $1 AND recorded_at > $2 AND recorded_at <= $3
              GROUP BY date_trunc('hour', recorded_at)",
        )
        .bind(fingerprint)
        .bind(hour_ago - VOLUME_BASELINE)
        .bind(hour_ago)
        .fetch_all(&mut *conn)
        .await?;
        out.push(SigningVolume {
            key: key.clone(),
            last_hour,
            baseline_hourly: hourly,
            baseline_hours: VOLUME_BASELINE.num_hours(),
        });
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct KeyUseRow {
    digest: String,
    image: String,
    signer_identity: String,
    signer_host: Option<String>,
    recorded_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UntrustedKeyRow {
    fingerprint: String,
    name: String,
    status: String,
    compromised_since: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Revoked and compromised keys, with their signatures in the window at or after the time they
/// became untrusted, and the admissions of the digests so signed that named the key.
pub async fn untrusted_keys(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<UntrustedKey>, ServiceError> {
    let keys: Vec<UntrustedKeyRow> = sqlx::query_as(
        "SELECT fingerprint, name, status, compromised_since, revoked_at
           FROM keys WHERE status IN ('revoked', 'compromised') ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let window_start = truncated(now - REVOKED_USE_WINDOW, TimeDelta::days(1))?;
    let mut out = Vec::new();
    for k in keys {
        let status = KeyStatus::parse(&k.status)?;
        let Some(from) = domain::alert::revoked_key_use::untrusted_from(
            status,
            k.compromised_since,
            k.revoked_at,
        ) else {
            continue;
        };
        let from = from.max(window_start);
        let signings: Vec<KeyUseRow> = sqlx::query_as(
            "SELECT digest, image, signer_identity, signer_host, recorded_at
               FROM signing_events
              WHERE key_fingerprint = $1 AND recorded_at >= $2 AND recorded_at <= $3
              ORDER BY recorded_at",
        )
        .bind(&k.fingerprint)
        .bind(from)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        // Admissions of what the key signed while untrusted, found through the digest index:
        // verification_events has no index by key or by time (ingestion cannot afford one, see
        // its migrations), and this runs every minute.
        let digests: Vec<&str> = signings.iter().map(|s| s.digest.as_str()).collect();
        let admissions: Vec<(String, String, DateTime<Utc>)> = if digests.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT c.name, e.image, e.observed_at
                   FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
                  WHERE e.digest = ANY($1) AND e.key_fingerprints @> ARRAY[$2::text]
                    AND e.outcome = 'admitted' AND e.observed_at >= $3 AND e.observed_at <= $4
                  ORDER BY e.observed_at",
            )
            .bind(&digests)
            .bind(&k.fingerprint)
            .bind(from)
            .bind(now)
            .fetch_all(&mut *conn)
            .await?
        };
        out.push(UntrustedKey {
            key: KeyRef {
                fingerprint: k.fingerprint,
                name: Some(k.name),
            },
            status,
            compromised_since: k.compromised_since,
            revoked_at: k.revoked_at,
            signings: signings
                .into_iter()
                .map(|r| KeyUse {
                    digest: r.digest,
                    image: r.image,
                    signer_identity: r.signer_identity,
                    signer_host: r.signer_host,
                    recorded_at: r.recorded_at,
                })
                .collect(),
            admissions: admissions
                .into_iter()
                .map(|(cluster, image, observed_at)| RelyingAdmission {
                    cluster,
                    image,
                    observed_at,
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Each cluster's outcomes in the last hour (the current and the previous rollup hour) and in
/// the baseline before it.
pub async fn cluster_outcomes(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<ClusterOutcomes>, ServiceError> {
    let recent_from = truncated(now, TimeDelta::hours(1))? - TimeDelta::hours(1);
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.name,
                coalesce(sum(h.events) FILTER (WHERE h.hour >= $1), 0)::bigint,
                coalesce(sum(h.events) FILTER (WHERE h.hour >= $1
                                                 AND h.outcome IN ('rejected', 'warned')), 0)::bigint,
                coalesce(sum(h.events) FILTER (WHERE h.hour < $1), 0)::bigint,
                coalesce(sum(h.events) FILTER (WHERE h.hour < $1
                                                 AND h.outcome IN ('rejected', 'warned')), 0)::bigint
           FROM verification_hourly h JOIN clusters c ON c.id = h.cluster_id
          WHERE h.hour >= $2 AND h.hour <= $3
          GROUP BY c.name
          ORDER BY c.name",
    )
    .bind(recent_from)
    .bind(recent_from - REJECTION_BASELINE)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(cluster, ra, rr, ba, br)| ClusterOutcomes {
            cluster,
            recent: Counts {
                admissions: ra,
                refusals: rr,
            },
            recent_from,
            baseline: Counts {
                admissions: ba,
                refusals: br,
            },
            baseline_days: REJECTION_BASELINE.num_days(),
        })
        .collect())
}

pub async fn heartbeats(conn: &mut PgConnection) -> Result<Vec<ClusterHeartbeat>, ServiceError> {
    let rows: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT name, registered_at, last_report_at FROM clusters ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(
            |(cluster, registered_at, last_report_at)| ClusterHeartbeat {
                cluster,
                registered_at,
                last_report_at,
            },
        )
        .collect())
}

/// Clusters that report a bundle version older than the newest published one.
pub async fn bundle_lags(conn: &mut PgConnection) -> Result<Vec<BundleLag>, ServiceError> {
    let rows: Vec<(String, i64, i64, DateTime<Utc>)> = sqlx::query_as(
        "WITH newest AS (SELECT max(version) AS version FROM trust_bundles)
         SELECT c.name, c.bundle_version, newest.version,
                (SELECT min(t.issued_at) FROM trust_bundles t WHERE t.version > c.bundle_version)
           FROM clusters c, newest
          WHERE c.bundle_version IS NOT NULL AND c.bundle_version < newest.version
          ORDER BY c.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(cluster, running, newest, next_issued_at)| BundleLag {
            cluster,
            running,
            newest,
            next_issued_at,
        })
        .collect())
}
