//! "What breaks if I revoke key K (or require 2 of 3 for policy P)?", asked before acting.
//!
//! The change is made to a copy of the current trust bundle in memory — nothing is written,
//! nothing is published — and the last days of recorded admissions are replayed against it with
//! the policy dry run's code (`policies::impact`), so both judge a change the same way and share
//! its limits: only signatures Trustwatch recorded in signing events count.

use chrono::{DateTime, Utc};
use domain::trust_bundle::{TrustBundle, TrustBundleContents, TrustedKey};
use domain::{KeyStatus, PolicyItem};
use sqlx::PgPool;

use crate::policies::impact::{self, Impact};
use crate::ServiceError;

/// The replay window people get unless they ask for another.
pub const DEFAULT_WINDOW_DAYS: i64 = 7;
/// The longest window: verification events are kept about a month, and a longer replay would
/// judge placements nobody runs any more.
pub const MAX_WINDOW_DAYS: i64 = 30;

/// A change to try, as the real actions would make it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// As `keys::set_status(.., Revoked, ..)`: every signature of the key stops counting.
    RevokeKey { key: String },
    /// As `keys::set_status(.., Compromised, since)`: signatures Trustwatch recorded at or after
    /// `since` stop counting; earlier ones still do.
    CompromiseKey { key: String, since: DateTime<Utc> },
    /// Policy and key-group documents laid over the stored ones, as a policy apply would.
    Policy(Vec<PolicyItem>),
}

/// Replays the admissions of the last `window_days` days (1 to `MAX_WINDOW_DAYS`) against the
/// current trust bundle with `change` made to it, and reports what would be refused or otherwise
/// judged differently, most admissions first.
pub async fn what_if(
    pool: &PgPool,
    change: &Change,
    window_days: i64,
    now: DateTime<Utc>,
) -> Result<Impact, ServiceError> {
    if !(1..=MAX_WINDOW_DAYS).contains(&window_days) {
        return Err(ServiceError::Invalid(format!(
            "window_days: {window_days} is not between 1 and {MAX_WINDOW_DAYS}"
        )));
    }
    let current = impact::current_bundle(pool).await?;
    let changed = changed_bundle(&current, change, now)?;
    impact::replay(pool, &current, &changed, window_days, now).await
}

/// `current` with `change` made to it, in memory.
pub fn changed_bundle(
    current: &TrustBundle,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<TrustBundle, ServiceError> {
    match change {
        Change::Policy(items) => impact::overlay(current, items),
        Change::RevokeKey { key } => with_key(current, key, |record| {
            record.status = KeyStatus::Revoked;
            // Revoking a revoked key keeps the first revocation's time, as `set_status` does.
            record.revoked_at = record.revoked_at.or(Some(now));
        }),
        Change::CompromiseKey { key, since } => {
            // The same bound the real status change applies: a compromise has happened.
            if *since > now + crate::keys::SINCE_SKEW {
                return Err(ServiceError::Invalid(
                    "since: lies in the future; give the time the key was (or is) compromised"
                        .into(),
                ));
            }
            with_key(current, key, |record| {
                record.status = KeyStatus::Compromised;
                record.compromised_since = Some(*since);
                record.revoked_at = None;
            })
        }
    }
}

/// `current` with the key named `name` edited by `edit`.
fn with_key(
    current: &TrustBundle,
    name: &str,
    edit: impl FnOnce(&mut domain::trust_bundle::TrustedKeyRecord),
) -> Result<TrustBundle, ServiceError> {
    let Some(index) = current.keys().iter().position(|k| k.name() == name) else {
        return Err(ServiceError::NotFound(format!("key {name:?}")));
    };
    let mut keys = current.keys().to_vec();
    let mut record = keys[index].to_record();
    edit(&mut record);
    keys[index] = TrustedKey::from_record(&record)
        .map_err(|p| ServiceError::Invalid(format!("key {name:?}: {p}")))?;
    TrustBundle::new(TrustBundleContents {
        version: current.version(),
        issued_at: current.issued_at(),
        expires_at: current.expires_at(),
        keys,
        key_groups: current.key_groups().to_vec(),
        policies: current.policies().to_vec(),
        default_action: current.default_action(),
    })
    .map_err(|e| ServiceError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use domain::cosign_key::CosignPrivateKey;
    use domain::trust_bundle::{DefaultAction, TrustedKeyRecord};

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn key(name: &str, seed: u8) -> TrustedKey {
        let public = CosignPrivateKey::from_random_scalar(&[seed; 32])
            .unwrap()
            .public_key();
        TrustedKey::from_record(&TrustedKeyRecord {
            name: name.into(),
            fingerprint: public.fingerprint().clone(),
            algorithm: public.algorithm(),
            public_key_pem: public.to_pem(),
            owner_team: "platform".into(),
            status: KeyStatus::Active,
            valid_from: now() - Duration::days(100),
            valid_until: None,
            compromised_since: None,
            revoked_at: None,
        })
        .unwrap()
    }

    fn bundle() -> TrustBundle {
        TrustBundle::new(TrustBundleContents {
            version: 4,
            issued_at: now() - Duration::hours(1),
            expires_at: now() + Duration::days(1),
            keys: vec![key("ci-release", 1), key("security-review", 2)],
            key_groups: Vec::new(),
            policies: Vec::new(),
            default_action: DefaultAction::Deny,
        })
        .unwrap()
    }

    #[test]
    fn revoking_changes_only_that_key_in_the_copy() {
        let current = bundle();
        let change = Change::RevokeKey {
            key: "ci-release".into(),
        };
        let changed = changed_bundle(&current, &change, now()).unwrap();
        let revoked = changed.key("ci-release").unwrap();
        assert_eq!(revoked.status(), KeyStatus::Revoked);
        assert_eq!(revoked.revoked_at(), Some(now()));
        assert_eq!(
            changed.key("security-review"),
            current.key("security-review")
        );
        assert_eq!(
            current.key("ci-release").unwrap().status(),
            KeyStatus::Active,
            "the current bundle is untouched"
        );
        assert_eq!(changed.version(), current.version(), "nothing is published");
    }

    #[test]
    fn compromising_records_since_and_refuses_a_future_since() {
        let since = now() - Duration::days(2);
        let change = Change::CompromiseKey {
            key: "security-review".into(),
            since,
        };
        let changed = changed_bundle(&bundle(), &change, now()).unwrap();
        let k = changed.key("security-review").unwrap();
        assert_eq!(k.status(), KeyStatus::Compromised);
        assert_eq!(k.compromised_since(), Some(since));

        let later = Change::CompromiseKey {
            key: "security-review".into(),
            since: now() + Duration::hours(1),
        };
        assert!(matches!(
            changed_bundle(&bundle(), &later, now()),
            Err(ServiceError::Invalid(m)) if m.starts_with("since:")
        ));
    }

    #[test]
    fn an_unknown_key_is_not_found() {
        for change in [
            Change::RevokeKey {
                key: "nobody".into(),
            },
            Change::CompromiseKey {
                key: "nobody".into(),
                since: now(),
            },
        ] {
            assert!(matches!(
                changed_bundle(&bundle(), &change, now()),
                Err(ServiceError::NotFound(m)) if m.contains("nobody")
            ));
        }
    }
}
