//! A bounded cache of signature checks: (key, payload, signature) → verifies or not.
//!
//! One ECDSA P-256 verification costs about 40 µs on one core here; an admission of a pod with
//! three containers against a bundle of fifty keys can ask for many, and a cluster asks the same
//! questions again and again. The answer is a pure function of the three inputs, so it is kept —
//! negative answers too: a signature that does not verify under key A will not verify under A
//! next time either, and without them a signature by a key late in the bundle (or by no key of
//! it) would cost a verification per key per admission.
//!
//! Entries are keyed by SHA-256 over the key's fingerprint and the exact payload and signature
//! bytes, so a collision would need a SHA-256 collision. The map is split in shards to keep lock
//! contention away, and each shard keeps two generations: lookups promote entries from the old
//! generation into the new one, and when the new one is full the old one is dropped whole. That
//! bounds memory at `capacity` entries and evicts what has not been used for a generation —
//! most of an LRU's effect for none of its bookkeeping.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use domain::{PublicKey, SignatureVerifier};
use sha2::{Digest as _, Sha256};

const SHARDS: usize = 16;

type TripleId = [u8; 32];

#[derive(Default)]
struct Generations {
    current: HashMap<TripleId, bool>,
    previous: HashMap<TripleId, bool>,
}

/// Counters since the cache was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifiedCacheStats {
    pub hits: u64,
    /// Checks that ran the signature algorithm.
    pub verifications: u64,
}

/// A [`SignatureVerifier`] that remembers its answers. Share one per process.
pub struct VerifiedCache {
    shards: Vec<Mutex<Generations>>,
    /// Entries per shard generation.
    generation_size: usize,
    hits: AtomicU64,
    verifications: AtomicU64,
}

impl VerifiedCache {
    /// A cache of at most about `capacity` answers; `0` turns caching off.
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Generations::default()))
                .collect(),
            generation_size: capacity / SHARDS / 2,
            hits: AtomicU64::new(0),
            verifications: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> VerifiedCacheStats {
        VerifiedCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            verifications: self.verifications.load(Ordering::Relaxed),
        }
    }

    fn id(key: &PublicKey, payload: &[u8], signature: &[u8]) -> TripleId {
        let mut h = Sha256::new();
        h.update(key.fingerprint().as_str().as_bytes());
        // Lengths first, so no two splits of the same bytes give the same input.
        h.update((payload.len() as u64).to_be_bytes());
        h.update(payload);
        h.update((signature.len() as u64).to_be_bytes());
        h.update(signature);
        h.finalize().into()
    }

    fn shard(&self, id: &TripleId) -> std::sync::MutexGuard<'_, Generations> {
        // The cache holds plain booleans: a panic elsewhere cannot leave a shard inconsistent.
        self.shards[usize::from(id[0]) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, id: &TripleId) -> Option<bool> {
        let mut shard = self.shard(id);
        if let Some(&v) = shard.current.get(id) {
            return Some(v);
        }
        let v = shard.previous.remove(id)?;
        self.put(&mut shard, *id, v);
        Some(v)
    }

    fn put(&self, shard: &mut Generations, id: TripleId, verified: bool) {
        if shard.current.len() >= self.generation_size {
            shard.previous = std::mem::take(&mut shard.current);
        }
        shard.current.insert(id, verified);
    }
}

impl SignatureVerifier for VerifiedCache {
    fn verify(&self, key: &PublicKey, payload: &[u8], signature: &[u8]) -> bool {
        if self.generation_size == 0 {
            self.verifications.fetch_add(1, Ordering::Relaxed);
            return key.verify(payload, signature).is_ok();
        }
        let id = Self::id(key, payload, signature);
        if let Some(v) = self.get(&id) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return v;
        }
        // Verified outside the lock: concurrent first checks of one triple may both verify,
        // which costs a little and is correct.
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let verified = key.verify(payload, signature).is_ok();
        let mut shard = self.shard(&id);
        self.put(&mut shard, id, verified);
        verified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;

    fn p256_key(seed: u8) -> (p256::ecdsa::SigningKey, PublicKey) {
        let signing = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let pem = signing
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        (signing, PublicKey::parse_pem(&pem).unwrap())
    }

    fn sign(key: &p256::ecdsa::SigningKey, payload: &[u8]) -> Vec<u8> {
        let s: p256::ecdsa::Signature = key.sign(payload);
        s.to_der().as_bytes().to_vec()
    }

    #[test]
    fn answers_like_the_key_and_verifies_each_triple_once() {
        let (a_sign, a) = p256_key(1);
        let (_, b) = p256_key(2);
        let payload = b"payload".to_vec();
        let sig = sign(&a_sign, &payload);
        let cache = VerifiedCache::new(1000);
        for _ in 0..5 {
            assert!(cache.verify(&a, &payload, &sig));
            assert!(!cache.verify(&b, &payload, &sig), "wrong key");
            assert!(!cache.verify(&a, b"other payload", &sig), "other payload");
        }
        assert_eq!(
            cache.stats(),
            VerifiedCacheStats {
                hits: 12,
                verifications: 3
            }
        );
    }

    #[test]
    fn never_holds_more_than_its_capacity_and_keeps_what_is_used() {
        let (k_sign, k) = p256_key(3);
        let hot = b"hot".to_vec();
        let hot_sig = sign(&k_sign, &hot);
        let cache = VerifiedCache::new(64);
        for i in 0..2000u32 {
            // A stream of one-off checks (bad signatures are quick to refuse) …
            cache.verify(&k, &i.to_be_bytes(), b"\x30\x00");
            // … and one triple used all along.
            assert!(cache.verify(&k, &hot, &hot_sig));
        }
        let held: usize = cache
            .shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap();
                s.current.len() + s.previous.len()
            })
            .sum();
        assert!(held <= 64 + SHARDS, "{held}");
        let before = cache.stats().verifications;
        assert!(cache.verify(&k, &hot, &hot_sig));
        assert_eq!(cache.stats().verifications, before, "the hot triple stayed");
    }

    #[test]
    fn capacity_zero_always_verifies() {
        let (k_sign, k) = p256_key(4);
        let sig = sign(&k_sign, b"p");
        let cache = VerifiedCache::new(0);
        assert!(cache.verify(&k, b"p", &sig));
        assert!(cache.verify(&k, b"p", &sig));
        assert_eq!(cache.stats().verifications, 2);
    }
}
