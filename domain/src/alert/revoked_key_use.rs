//! Rule 4: any use of a key that must no longer be trusted.
//!
//! A revoked key signs nothing legitimately after its revocation, and a compromised key nothing
//! after `compromised_since` (Trustwatch's recorded time decides, not the signer's claim). Each
//! such signature, and each admission a cluster granted on the strength of such a key, means the
//! attacker (or a forgotten pipeline) still holds it. One alert per key and UTC day, so a key
//! abused all week shows as a run of days rather than a single line that never changes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::{at, AlertRule, Finding, KeyRef, Subject};
use crate::KeyStatus;

/// How many digests, identities or clusters a finding lists by name.
const LISTED: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub digest: String,
    pub image: String,
    pub signer_identity: String,
    pub signer_host: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingAdmission {
    pub cluster: String,
    pub image: String,
    pub observed_at: DateTime<Utc>,
}

/// A key's lifecycle and what used it in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrustedKey {
    pub key: KeyRef,
    pub status: KeyStatus,
    pub compromised_since: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub signings: Vec<KeyUse>,
    /// Admissions (outcome admitted) that named the key.
    pub admissions: Vec<RelyingAdmission>,
}

/// From when the key must not be used, or `None` while it is trusted. A revoked key that was also
/// compromised earlier is untrusted from the earlier time.
pub fn untrusted_from(
    status: KeyStatus,
    compromised_since: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match status {
        KeyStatus::Compromised => compromised_since,
        KeyStatus::Revoked => match (compromised_since, revoked_at) {
            (Some(c), Some(r)) => Some(c.min(r)),
            (c, r) => Some(c.or(r).unwrap_or(DateTime::<Utc>::MIN_UTC)),
        },
        KeyStatus::Active | KeyStatus::Retiring => None,
    }
}

pub fn revoked_key_use(k: &UntrustedKey) -> Vec<Finding> {
    let Some(from) = untrusted_from(k.status, k.compromised_since, k.revoked_at) else {
        return Vec::new();
    };
    let mut days: BTreeMap<NaiveDate, (Vec<&KeyUse>, Vec<&RelyingAdmission>)> = BTreeMap::new();
    for s in k.signings.iter().filter(|s| s.recorded_at >= from) {
        days.entry(s.recorded_at.date_naive())
            .or_default()
            .0
            .push(s);
    }
    for a in k.admissions.iter().filter(|a| a.observed_at >= from) {
        days.entry(a.observed_at.date_naive())
            .or_default()
            .1
            .push(a);
    }
    let since = if k.status == KeyStatus::Compromised {
        format!("compromised since {}", at(from))
    } else {
        format!("revoked (untrusted since {})", at(from))
    };
    days.into_iter()
        .map(|(day, (signings, admissions))| {
            let first = signings
                .iter()
                .map(|s| s.recorded_at)
                .chain(admissions.iter().map(|a| a.observed_at))
                .min()
                .unwrap_or(from);
            let digests: BTreeSet<&str> = signings.iter().map(|s| s.digest.as_str()).collect();
            let identities: BTreeSet<&str> = signings
                .iter()
                .map(|s| s.signer_identity.as_str())
                .collect();
            let hosts: BTreeSet<&str> = signings
                .iter()
                .filter_map(|s| s.signer_host.as_deref())
                .collect();
            let clusters: BTreeSet<&str> = admissions.iter().map(|a| a.cluster.as_str()).collect();
            let mut parts = Vec::new();
            if !signings.is_empty() {
                let images: BTreeSet<&str> = signings.iter().map(|s| s.image.as_str()).collect();
                parts.push(format!(
                    "signed {} time{} ({} image{}: {}) as {} from {}",
                    signings.len(),
                    plural(signings.len()),
                    images.len(),
                    plural(images.len()),
                    list(&images),
                    list(&identities),
                    if hosts.is_empty() {
                        "an unnamed host".to_owned()
                    } else {
                        list(&hosts)
                    },
                ));
            }
            if !admissions.is_empty() {
                parts.push(format!(
                    "let {} admission{} through in {}",
                    admissions.len(),
                    plural(admissions.len()),
                    list(&clusters)
                ));
            }
            Finding {
                rule: AlertRule::RevokedKeyUse,
                subject: Subject::Key(k.key.clone()),
                scope: day.to_string(),
                continues_within: None,
                summary: format!(
                    "Key {} is {since}, yet on {day} it {}.",
                    k.key.label(),
                    parts.join(" and ")
                ),
                facts: json!({
                    "key_fingerprint": k.key.fingerprint,
                    "key_name": k.key.name,
                    "status": k.status.as_str(),
                    "untrusted_since": from,
                    "day": day,
                    "signatures": signings.len(),
                    "digests": digests.iter().take(LISTED).collect::<Vec<_>>(),
                    "signer_identities": identities.iter().take(LISTED).collect::<Vec<_>>(),
                    "signer_hosts": hosts.iter().take(LISTED).collect::<Vec<_>>(),
                    "admissions": admissions.len(),
                    "clusters": clusters.iter().take(LISTED).collect::<Vec<_>>(),
                    "first_use_at": first,
                }),
                observed_at: first,
            }
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The first few, then how many more.
fn list(items: &BTreeSet<&str>) -> String {
    let shown: Vec<&str> = items.iter().take(LISTED).copied().collect();
    match items.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    fn use_at(at: DateTime<Utc>, digest: char) -> KeyUse {
        KeyUse {
            digest: format!("sha256:{}", digest.to_string().repeat(64)),
            image: "registry.example.com/payments/worker:1.2".into(),
            signer_identity: "unknown/manual".into(),
            signer_host: Some("203.0.113.77".into()),
            recorded_at: at,
        }
    }

    fn key(
        status: KeyStatus,
        since: Option<DateTime<Utc>>,
        revoked: Option<DateTime<Utc>>,
    ) -> UntrustedKey {
        UntrustedKey {
            key: KeyRef {
                fingerprint: format!("sha256:{}", "d".repeat(64)),
                name: Some("payments-legacy".into()),
            },
            status,
            compromised_since: since,
            revoked_at: revoked,
            signings: vec![
                use_at(t(20, 10), '1'),
                use_at(t(21, 9), '2'),
                use_at(t(21, 15), '3'),
            ],
            admissions: vec![],
        }
    }

    #[test]
    fn active_and_retiring_keys_never_fire() {
        assert!(revoked_key_use(&key(KeyStatus::Active, None, None)).is_empty());
        assert!(revoked_key_use(&key(KeyStatus::Retiring, None, None)).is_empty());
    }

    #[test]
    fn a_compromised_key_fires_per_day_from_its_compromise_on() {
        let f = revoked_key_use(&key(KeyStatus::Compromised, Some(t(21, 0)), None));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].scope, "2026-11-21");
        assert_eq!(f[0].facts["signatures"], 2);
        assert_eq!(f[0].observed_at, t(21, 9));
        assert!(
            f[0].summary
                .contains("compromised since 2026-11-21 00:00 UTC"),
            "{}",
            f[0].summary
        );
        assert!(f[0].summary.contains("signed 2 times"), "{}", f[0].summary);
        assert!(f[0].summary.contains("203.0.113.77"), "{}", f[0].summary);
    }

    #[test]
    fn a_signature_at_the_compromise_instant_counts() {
        let f = revoked_key_use(&key(KeyStatus::Compromised, Some(t(21, 15)), None));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].facts["signatures"], 1);
        let f = revoked_key_use(&key(
            KeyStatus::Compromised,
            Some(t(21, 15) + TimeDelta::seconds(1)),
            None,
        ));
        assert!(f.is_empty());
    }

    #[test]
    fn a_revoked_key_fires_after_its_revocation() {
        let f = revoked_key_use(&key(KeyStatus::Revoked, None, Some(t(20, 11))));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].summary.starts_with("Key payments-legacy is revoked"),
            "{}",
            f[0].summary
        );
        // Revoked without a time: every use counts.
        assert_eq!(
            revoked_key_use(&key(KeyStatus::Revoked, None, None)).len(),
            2
        );
        // Compromised earlier than revoked: from the compromise.
        assert_eq!(
            untrusted_from(KeyStatus::Revoked, Some(t(1, 0)), Some(t(20, 0))),
            Some(t(1, 0))
        );
    }

    #[test]
    fn admissions_relying_on_it_fire_too() {
        let mut k = key(KeyStatus::Compromised, Some(t(22, 0)), None);
        k.admissions = vec![
            RelyingAdmission {
                cluster: "prod-eu-1".into(),
                image: "registry.example.com/payments/worker:1.2".into(),
                observed_at: t(22, 8),
            },
            RelyingAdmission {
                cluster: "prod-eu-1".into(),
                image: "registry.example.com/payments/worker:1.2".into(),
                observed_at: t(21, 8),
            },
        ];
        let f = revoked_key_use(&k);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].facts["admissions"], 1);
        assert_eq!(f[0].facts["signatures"], 0);
        assert!(
            f[0].summary
                .contains("let 1 admission through in prod-eu-1"),
            "{}",
            f[0].summary
        );
    }
}
