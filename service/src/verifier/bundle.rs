//! The trust bundle the webhook decides with: the newest published version, kept in memory and
//! checked for a newer one at most every `refresh`.
//!
//! Parsing a bundle (every key's PEM, every policy's globs) costs milliseconds; an admission
//! must cost microseconds. So the parsed bundle is shared by every admission, and a cheap probe
//! of the newest version number runs at most once per `refresh` (one caller probes; the others
//! keep using the bundle they have meanwhile). A revocation therefore reaches the webhook within
//! `refresh` of being published, on every replica.
//!
//! When the database cannot be reached, the bundle in memory stays in use (and the failure is
//! logged): admissions keep being decided on the last known keys and policies.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use domain::TrustBundle;
use sqlx::PgPool;

use crate::ServiceError;

/// One published version, parsed.
#[derive(Debug)]
pub struct CachedBundle {
    pub version: u64,
    pub bundle: TrustBundle,
}

struct State {
    bundle: Arc<CachedBundle>,
    checked: Instant,
}

pub struct BundleCache {
    refresh: Duration,
    state: RwLock<Option<State>>,
    reload: tokio::sync::Mutex<()>,
}

impl BundleCache {
    pub fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            state: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> (Option<Arc<CachedBundle>>, bool) {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            Some(s) => (
                Some(Arc::clone(&s.bundle)),
                s.checked.elapsed() < self.refresh,
            ),
            None => (None, false),
        }
    }

    /// The newest published bundle, or `None` before the first publication.
    pub async fn get(&self, pool: &PgPool) -> Result<Option<Arc<CachedBundle>>, ServiceError> {
        let (cached, fresh) = self.fresh();
        if fresh {
            return Ok(cached);
        }
        let _reloading = match (self.reload.try_lock(), &cached) {
            (Ok(guard), _) => guard,
            // Someone is already checking: use what we have rather than wait.
            (Err(_), Some(c)) => return Ok(Some(Arc::clone(c))),
            (Err(_), None) => self.reload.lock().await,
        };
        // Another caller may have refreshed while this one waited for the lock.
        let (cached, fresh) = self.fresh();
        if fresh {
            return Ok(cached);
        }
        let probed = match &cached {
            Some(c) => newest_version(pool)
                .await
                .map(|v| v.filter(|&v| v == c.version).map(|_| Arc::clone(c))),
            None => Ok(None),
        };
        let result = match probed {
            Ok(Some(unchanged)) => Ok(Some(unchanged)),
            Ok(None) => load(pool).await.map(|b| b.map(Arc::new)),
            Err(e) => Err(e),
        };
        match result {
            Ok(bundle) => {
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                *state = bundle.as_ref().map(|b| State {
                    bundle: Arc::clone(b),
                    checked: Instant::now(),
                });
                Ok(bundle)
            }
            Err(e) => match cached {
                Some(c) => {
                    tracing::warn!(error = %e, version = c.version, "the trust bundle could not be checked for a newer version; deciding with the one in memory");
                    let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                    if let Some(s) = state.as_mut() {
                        s.checked = Instant::now();
                    }
                    Ok(Some(c))
                }
                None => Err(e),
            },
        }
    }
}

/// The newest published version's number, without reading the bundle.
async fn newest_version(_pool: &PgPool) -> Result<Option<u64>, ServiceError> {
    // Until `service::trust_bundle` publishes versions, every check reloads.
    Ok(None)
}

/// The newest published bundle, parsed.
async fn load(pool: &PgPool) -> Result<Option<CachedBundle>, ServiceError> {
    interim::build(pool).await.map(Some)
}

mod interim {
    //! Builds a bundle straight from the keys, key groups and policies tables, for as long as
    //! `service::trust_bundle` (which publishes signed versions) is not there to read from.

    use chrono::{DateTime, TimeDelta, Utc};
    use domain::policy::document::PolicyDocument;
    use domain::{
        DefaultAction, KeyAlgorithm, KeyFingerprint, KeyGroup, KeyStatus, Policy, TrustBundle,
        TrustBundleContents, TrustedKey, TrustedKeyRecord,
    };
    use sqlx::PgPool;

    use super::CachedBundle;
    use crate::ServiceError;

    #[derive(sqlx::FromRow)]
    struct KeyRow {
        name: String,
        fingerprint: String,
        algorithm: String,
        public_key_pem: String,
        owner_team: String,
        status: String,
        valid_from: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
        compromised_since: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
    }

    fn corrupt(what: String) -> ServiceError {
        ServiceError::Internal(format!("the stored trust data is inconsistent: {what}"))
    }

    pub(super) async fn build(pool: &PgPool) -> Result<CachedBundle, ServiceError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT name, fingerprint, algorithm, public_key_pem, owner_team, status, valid_from,
                    valid_until, compromised_since, revoked_at
               FROM keys ORDER BY name",
        )
        .fetch_all(pool)
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in rows {
            let record = TrustedKeyRecord {
                fingerprint: KeyFingerprint::parse(&r.fingerprint).map_err(|e| corrupt(e.0))?,
                algorithm: KeyAlgorithm::parse(&r.algorithm).map_err(|e| corrupt(e.0))?,
                status: KeyStatus::parse(&r.status).map_err(|e| corrupt(e.0))?,
                name: r.name,
                public_key_pem: r.public_key_pem,
                owner_team: r.owner_team,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                compromised_since: r.compromised_since,
                revoked_at: r.revoked_at,
            };
            keys.push(
                TrustedKey::from_record(&record)
                    .map_err(|e| corrupt(format!("key {}: {e}", record.name)))?,
            );
        }
        let groups: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT g.name, coalesce(array_agg(k.name ORDER BY k.name) FILTER (WHERE k.name IS NOT NULL), '{}')
               FROM key_groups g
               LEFT JOIN key_group_members m ON m.group_id = g.id
               LEFT JOIN keys k ON k.id = m.key_id
              GROUP BY g.name ORDER BY g.name",
        )
        .fetch_all(pool)
        .await?;
        let key_groups = groups
            .into_iter()
            .map(|(name, members)| {
                KeyGroup::new(&name, members).map_err(|e| corrupt(format!("group {name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let documents: Vec<(String, serde_json::Value)> =
            sqlx::query_as("SELECT name, document FROM policies ORDER BY name")
                .fetch_all(pool)
                .await?;
        let policies = documents
            .into_iter()
            .map(|(name, document)| {
                let doc: PolicyDocument = serde_json::from_value(document)
                    .map_err(|e| corrupt(format!("policy {name}: {e}")))?;
                Policy::from_document(&doc).map_err(|e| corrupt(format!("policy {name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let now = Utc::now();
        let bundle = TrustBundle::new(TrustBundleContents {
            version: 0,
            issued_at: now,
            expires_at: now + TimeDelta::days(1),
            keys,
            key_groups,
            policies,
            default_action: DefaultAction::Deny,
        })
        .map_err(|e| corrupt(e.to_string()))?;
        Ok(CachedBundle { version: 0, bundle })
    }
}
