//! The trust bundle the webhook decides with: the newest version `service::trust_bundle`
//! published, kept in memory and checked for a newer one at most every `refresh`.
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
async fn newest_version(pool: &PgPool) -> Result<Option<u64>, ServiceError> {
    Ok(crate::trust_bundle::head(pool).await?.map(|h| h.version))
}

/// The newest published bundle, parsed.
async fn load(pool: &PgPool) -> Result<Option<CachedBundle>, ServiceError> {
    Ok(crate::trust_bundle::current(pool)
        .await?
        .map(|published| CachedBundle {
            version: published.version,
            bundle: published.bundle,
        }))
}
