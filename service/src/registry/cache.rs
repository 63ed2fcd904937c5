//! A small TTL cache with request coalescing, in front of registry reads.
//!
//! One image deployed to a thousand pods asks the same question a thousand times within seconds.
//! The first caller fetches; callers that arrive while it is in flight wait for its answer instead
//! of sending their own request; callers after it read the stored answer until it expires.
//! Successes and failures are kept for different times. The map is bounded: when full, expired
//! entries go first, then the ones closest to expiry.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::{CacheConfig, RegistryError};

pub(crate) struct TtlCache<K, V> {
    slots: Mutex<HashMap<K, Arc<Slot<V>>>>,
    config: CacheConfig,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct Slot<V> {
    cell: OnceCell<Stored<V>>,
}

struct Stored<V> {
    value: Result<V, RegistryError>,
    expires: Instant,
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    pub(crate) fn new(config: CacheConfig) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            config,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The stored answer for `key`, or `fetch`'s, shared with every concurrent caller of the
    /// same key. If the caller that is fetching gives up (its future is dropped), the next
    /// waiter fetches instead.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: K, fetch: F) -> Result<V, RegistryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, RegistryError>>,
    {
        if self.config.max_entries == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return fetch().await;
        }
        let slot = self.slot(key);
        let fetched = AtomicBool::new(false);
        let stored = slot
            .cell
            .get_or_init(|| async {
                fetched.store(true, Ordering::Relaxed);
                let value = fetch().await;
                let ttl = if value.is_ok() {
                    self.config.ttl
                } else {
                    self.config.failure_ttl
                };
                Stored {
                    value,
                    expires: Instant::now() + ttl,
                }
            })
            .await;
        if fetched.load(Ordering::Relaxed) {
            self.misses.fetch_add(1, Ordering::Relaxed);
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        stored.value.clone()
    }

    /// Forgets `key`, so the next read fetches (after a write that changed the answer).
    pub(crate) fn invalidate(&self, key: &K) {
        self.lock().remove(key);
    }

    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<Slot<V>>>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every operation
        // on it is a single insert or remove), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot for `key`: the current one while it is fresh or being fetched, else a new one.
    fn slot(&self, key: K) -> Arc<Slot<V>> {
        let now = Instant::now();
        let mut slots = self.lock();
        if let Some(slot) = slots.get(&key) {
            let fresh = slot.cell.get().is_none_or(|s| s.expires > now);
            if fresh {
                return Arc::clone(slot);
            }
        }
        slots.remove(&key);
        if slots.len() >= self.config.max_entries {
            slots.retain(|_, slot| slot.cell.get().is_none_or(|s| s.expires > now));
        }
        while slots.len() >= self.config.max_entries {
            // Evict what would expire first; entries still being fetched last.
            let victim = slots
                .iter()
                .min_by_key(|(_, slot)| {
                    slot.cell
                        .get()
                        .map_or(now + Duration::from_secs(u32::MAX.into()), |s| s.expires)
                })
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => slots.remove(&k),
                None => break,
            };
        }
        let slot = Arc::new(Slot {
            cell: OnceCell::new(),
        });
        slots.insert(key, Arc::clone(&slot));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn cache(ttl_ms: u64, failure_ms: u64, max: usize) -> TtlCache<String, u32> {
        TtlCache::new(CacheConfig {
            ttl: Duration::from_millis(ttl_ms),
            failure_ttl: Duration::from_millis(failure_ms),
            max_entries: max,
        })
    }

    async fn get(
        c: &TtlCache<String, u32>,
        key: &str,
        calls: &AtomicUsize,
        answer: Result<u32, RegistryError>,
    ) -> Result<u32, RegistryError> {
        c.get_or_fetch(key.to_owned(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            answer
        })
        .await
    }

    fn failure() -> RegistryError {
        RegistryError::Unreachable {
            registry: "r".into(),
            detail: "down".into(),
        }
    }

    #[tokio::test]
    async fn keeps_successes_for_the_ttl() {
        let c = cache(200, 10, 10);
        let calls = AtomicUsize::new(0);
        assert_eq!(get(&c, "a", &calls, Ok(1)).await, Ok(1));
        assert_eq!(get(&c, "a", &calls, Ok(2)).await, Ok(1));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!((c.hits(), c.misses()), (1, 1));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(get(&c, "a", &calls, Ok(3)).await, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn keeps_failures_briefly() {
        let c = cache(10_000, 100, 10);
        let calls = AtomicUsize::new(0);
        assert!(get(&c, "a", &calls, Err(failure())).await.is_err());
        assert!(get(&c, "a", &calls, Ok(1)).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(get(&c, "a", &calls, Ok(1)).await, Ok(1));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn coalesces_concurrent_misses() {
        let c = cache(10_000, 10_000, 10);
        let calls = AtomicUsize::new(0);
        let slow = || async {
            c.get_or_fetch("k".to_owned(), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(7)
            })
            .await
        };
        let results = futures_join(vec![slow(), slow(), slow(), slow()]).await;
        assert!(results.iter().all(|r| *r == Ok(7)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!((c.hits(), c.misses()), (3, 1));
    }

    #[tokio::test]
    async fn a_cancelled_fetch_hands_over_to_the_next_caller() {
        let c = cache(10_000, 10_000, 10);
        let first = c.get_or_fetch("k".to_owned(), || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(1)
        });
        assert!(tokio::time::timeout(Duration::from_millis(20), first)
            .await
            .is_err());
        let calls = AtomicUsize::new(0);
        assert_eq!(get(&c, "k", &calls, Ok(2)).await, Ok(2));
    }

    #[tokio::test]
    async fn stays_within_its_bound() {
        let c = cache(10_000, 10_000, 3);
        let calls = AtomicUsize::new(0);
        for (i, key) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            let n = u32::try_from(i).unwrap_or(0);
            assert_eq!(get(&c, key, &calls, Ok(n)).await, Ok(n));
            assert!(c.len() <= 3);
        }
        // "a" was the first to expire, so it went first; "e" is still there.
        assert_eq!(get(&c, "e", &calls, Ok(99)).await, Ok(4));
        assert_eq!(get(&c, "a", &calls, Ok(99)).await, Ok(99));
    }

    #[tokio::test]
    async fn invalidation_forces_a_fetch() {
        let c = cache(10_000, 10_000, 10);
        let calls = AtomicUsize::new(0);
        assert_eq!(get(&c, "a", &calls, Ok(1)).await, Ok(1));
        c.invalidate(&"a".to_owned());
        assert_eq!(get(&c, "a", &calls, Ok(2)).await, Ok(2));
    }

    #[tokio::test]
    async fn zero_entries_turns_caching_off() {
        let c = cache(10_000, 10_000, 0);
        let calls = AtomicUsize::new(0);
        assert_eq!(get(&c, "a", &calls, Ok(1)).await, Ok(1));
        assert_eq!(get(&c, "a", &calls, Ok(2)).await, Ok(2));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Runs futures concurrently on the current task (no `futures` dependency needed).
    async fn futures_join<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in futures {
            set.push(Box::pin(f));
        }
        let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (i, f) in set.iter_mut().enumerate() {
                if outputs[i].is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => outputs[i] = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        outputs.into_iter().flatten().collect()
    }
}
