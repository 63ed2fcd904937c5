//! The second source of signatures: signing events recorded by Trustwatch, with their trusted
//! recorded time, read per digest and kept for a few seconds.
//!
//! The cache is short on purpose: a pipeline signs and deploys within seconds, and a signature
//! recorded just now must count on the next admission. A few seconds still turn a deployment of
//! a thousand pods into one query.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::{Digest, KeyFingerprint, SignatureEvidence};
use sqlx::PgPool;

use crate::ServiceError;

/// Most signing events read for one digest.
pub const MAX_SIGNING_EVENTS: i64 = 256;

#[derive(sqlx::FromRow)]
struct Row {
    payload: Vec<u8>,
    signature: Vec<u8>,
    recorded_at: DateTime<Utc>,
    key_fingerprint: String,
}

/// The signatures recorded for `digest`, one per distinct (payload, signature), each with the
/// earliest time Trustwatch recorded it: that is when it is known to have existed, which is what
/// "signed before the compromise" is decided on.
pub async fn signing_event_evidence(
    pool: &PgPool,
    digest: &Digest,
) -> Result<Vec<SignatureEvidence>, ServiceError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT payload, signature, recorded_at, key_fingerprint
           FROM signing_events
          WHERE digest = $1 AND payload IS NOT NULL AND signature IS NOT NULL
          ORDER BY recorded_at, id
          LIMIT $2",
    )
    .bind(digest.as_str())
    .bind(MAX_SIGNING_EVENTS)
    .fetch_all(pool)
    .await?;
    let mut evidence: Vec<SignatureEvidence> = Vec::with_capacity(rows.len());
    for row in rows {
        if evidence
            .iter()
            .any(|e| e.payload == row.payload && e.signature == row.signature)
        {
            continue;
        }
        // The column's CHECK guarantees the shape; a bad one would only lose the hint.
        let key = KeyFingerprint::parse(&row.key_fingerprint).ok();
        evidence.push(SignatureEvidence::from_signing_event(
            row.payload,
            row.signature,
            row.recorded_at,
            key,
        ));
    }
    Ok(evidence)
}

struct Entry {
    evidence: Arc<Vec<SignatureEvidence>>,
    expires: Instant,
}

/// [`signing_event_evidence`] behind a cache with a short TTL, bounded in entries.
pub(crate) struct EvidenceCache {
    entries: Mutex<HashMap<Digest, Entry>>,
    ttl: Duration,
    max_entries: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl EvidenceCache {
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            max_entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) async fn get(
        &self,
        pool: &PgPool,
        digest: &Digest,
    ) -> Result<Arc<Vec<SignatureEvidence>>, ServiceError> {
        if self.max_entries > 0 && !self.ttl.is_zero() {
            if let Some(e) = self.lock().get(digest) {
                if e.expires > Instant::now() {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Arc::clone(&e.evidence));
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Concurrent misses of one digest each ask; a handful of identical indexed queries is
        // cheaper than making callers wait on each other.
        let evidence = Arc::new(signing_event_evidence(pool, digest).await?);
        if self.max_entries > 0 && !self.ttl.is_zero() {
            let now = Instant::now();
            let mut entries = self.lock();
            if entries.len() >= self.max_entries {
                entries.retain(|_, e| e.expires > now);
                if entries.len() >= self.max_entries {
                    entries.clear();
                }
            }
            entries.insert(
                digest.clone(),
                Entry {
                    evidence: Arc::clone(&evidence),
                    expires: now + self.ttl,
                },
            );
        }
        Ok(evidence)
    }
}
