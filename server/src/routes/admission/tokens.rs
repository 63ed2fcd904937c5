//! Token authentication for the webhook, remembered for a few seconds.
//!
//! The API server calls the webhook for every pod it creates, each time with the same token;
//! looking it up in PostgreSQL every time would double the database work of an admission. A
//! successful lookup is kept for `ttl` (keyed by the token's SHA-256, so the cache holds no
//! token), which is also how long a revoked token keeps working here. Kubernetes' own webhook
//! token authenticator caches for two minutes by default. Failed lookups are not kept: a token
//! made a second ago works at once.
//!
//! When the database cannot be reached, a token seen within [`STALE_MAX`] is still accepted: no
//! token can be revoked while the database is away, and admissions should not stop with it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use service::tokens::TokenPrincipal;
use service::ServiceError;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

/// Tokens remembered at most; a cluster has one, a fleet a few hundred.
const MAX_ENTRIES: usize = 4096;

/// How long a token seen before stays usable while the database is unreachable.
pub const STALE_MAX: Duration = Duration::from_secs(300);

pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (Instant, TokenPrincipal)>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The token's principal, or `None` for an unknown or revoked token.
    pub async fn authenticate(
        &self,
        pool: &PgPool,
        token: &str,
    ) -> Result<Option<TokenPrincipal>, ServiceError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let known = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some((at, principal)) = &known {
            if at.elapsed() < self.ttl {
                return Ok(Some(principal.clone()));
            }
        }
        let found = match service::tokens::authenticate(pool, token).await {
            Ok(found) => found,
            Err(e) if e.is_unavailable() => match known {
                Some((at, principal)) if at.elapsed() < STALE_MAX => {
                    tracing::warn!(error = %e, token = %principal.name, "the database is unreachable; accepting a token seen recently");
                    return Ok(Some(principal));
                }
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(principal) = &found {
            let ttl = STALE_MAX;
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(key, (Instant::now(), principal.clone()));
        } else {
            // Revoked: never to be used again, not even while the database is away.
            entries.remove(&key);
        }
        drop(entries);
        Ok(found)
    }
}
