//! Storing admission verdicts as verification events, in batches, behind the admission.
//!
//! An admission answer must not wait for a database commit: the API server is waiting, and a
//! slow or unreachable PostgreSQL would turn into refused deployments. So the webhook hands each
//! verdict to a [`DecisionRecorder`], which stores them through
//! [`crate::ingest::record_verification_events_with_checks`] — the same statement every other
//! engine's verdicts go through — as fast as the database takes them: whatever queued while a
//! batch was being written becomes the next batch, and two batches may be in flight at once.
//! Under load that is one statement per few hundred events; idle, one per event, within
//! milliseconds. A verdict's checks are written to JSON text here, off the admission's path.
//!
//! The queue is bounded. When the database is away the writer keeps its batch and retries, the
//! queue fills, and events beyond it are dropped and counted (`dropped`) rather than held
//! without limit; the verdicts themselves are unaffected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{Check, VerificationEvent};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{checks_json, VerdictWithEvidence};
use crate::{ingest, Actor};

/// How a [`DecisionRecorder`] batches.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Events waiting to be stored, at most.
    pub queue: usize,
    /// Events per statement, at most.
    pub max_batch: usize,
    /// Batches being written at once.
    pub in_flight: usize,
    /// The first pause after a failed batch; it doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            queue: 50_000,
            max_batch: 2_000,
            in_flight: 2,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Counters since the recorder started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    pub stored: u64,
    /// Events refused because the queue was full.
    pub dropped: u64,
    /// Batches that failed (and were retried, or given up on when the error was not transient).
    pub failed_batches: u64,
    /// Events given up on after a permanent error (a cluster that no longer exists, say).
    pub lost: u64,
}

struct Pending {
    actor: Actor,
    register_clusters: bool,
    event: VerificationEvent,
    /// The decision's checks, when the event came from a verdict; else the event's own.
    checks: Option<Vec<Check>>,
}

enum Message {
    Event(Box<Pending>),
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    dropped: AtomicU64,
    failed_batches: AtomicU64,
    lost: AtomicU64,
}

/// The handle to the background writer. Cheap to clone.
#[derive(Clone)]
pub struct DecisionRecorder {
    tx: mpsc::Sender<Message>,
    counters: Arc<Counters>,
}

impl DecisionRecorder {
    /// Starts the writer on the current tokio runtime.
    pub fn spawn(pool: PgPool, config: RecorderConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        tokio::spawn(write_loop(pool, config, rx, Arc::clone(&counters)));
        Self { tx, counters }
    }

    /// Queues `verdict` as event `id` of the workload, reported under the token `actor`.
    /// Returns false when the queue is full and the verdict was dropped.
    #[allow(clippy::too_many_arguments)]
    pub fn record_verdict(
        &self,
        actor: &Actor,
        register_clusters: bool,
        verdict: VerdictWithEvidence,
        id: Uuid,
        workload_kind: &str,
        workload_name: &str,
        observed_at: DateTime<Utc>,
    ) -> bool {
        let (event, checks) = verdict.into_event(id, workload_kind, workload_name, observed_at);
        self.send(Pending {
            actor: actor.clone(),
            register_clusters,
            event,
            checks: Some(checks),
        })
    }

    /// Queues `event`, reported under the token `actor`. Returns false when the queue is full
    /// and the event was dropped.
    pub fn record(&self, actor: &Actor, register_clusters: bool, event: VerificationEvent) -> bool {
        self.send(Pending {
            actor: actor.clone(),
            register_clusters,
            event,
            checks: None,
        })
    }

    fn send(&self, pending: Pending) -> bool {
        let sent = self.tx.try_send(Message::Event(Box::new(pending)));
        if sent.is_err() {
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Once per power of two: an overload must not turn into a flood of log lines.
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "verification events dropped: the recorder's queue is full (the database is slower than the admissions)"
                );
            }
        }
        sent.is_ok()
    }

    /// Waits until every event queued before this call has been stored or given up on.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub fn stats(&self) -> RecorderStats {
        let c = &self.counters;
        RecorderStats {
            stored: c.stored.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
        }
    }
}

/// Events of one token, as `record_verification_events_with_checks` takes them.
type Group = (Actor, Vec<(VerificationEvent, String)>);

async fn write_loop(
    pool: PgPool,
    config: RecorderConfig,
    mut rx: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
) {
    let slots = Arc::new(Semaphore::new(config.in_flight.max(1)));
    let mut writing: JoinSet<()> = JoinSet::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut batch: BTreeMap<(String, bool), Group> = BTreeMap::new();
        let mut next = Some(first);
        let mut size = 0;
        while let Some(message) = next.take() {
            match message {
                Message::Event(pending) => {
                    let Pending {
                        actor,
                        register_clusters,
                        event,
                        checks,
                    } = *pending;
                    let json = match checks {
                        Some(checks) => checks_json(&checks),
                        None => event.checks.to_string(),
                    };
                    size += 1;
                    batch
                        .entry((actor.label.clone(), register_clusters))
                        .or_insert_with(|| (actor, Vec::new()))
                        .1
                        .push((event, json));
                }
                // Answered once what came before it is written.
                Message::Flush(done) => flushes.push(done),
            }
            if size < config.max_batch && flushes.is_empty() {
                next = rx.try_recv().ok();
            }
        }
        for ((_, register_clusters), (actor, events)) in batch {
            // Waits while every slot is busy: meanwhile the queue fills the next batch.
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let (pool, config, counters) = (pool.clone(), config.clone(), Arc::clone(&counters));
            writing.spawn(async move {
                store(&pool, &config, &counters, &actor, register_clusters, events).await;
                drop(slot);
            });
        }
        while writing.try_join_next().is_some() {}
        if !flushes.is_empty() {
            while writing.join_next().await.is_some() {}
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }
    while writing.join_next().await.is_some() {}
}

async fn store(
    pool: &PgPool,
    config: &RecorderConfig,
    counters: &Counters,
    actor: &Actor,
    register_clusters: bool,
    events: Vec<(VerificationEvent, String)>,
) {
    let mut pause = config.backoff;
    loop {
        let now = chrono::Utc::now();
        match ingest::record_verification_events_with_checks(
            pool,
            actor,
            &events,
            now,
            register_clusters,
        )
        .await
        {
            Ok(report) => {
                counters
                    .stored
                    .fetch_add(report.accepted, Ordering::Relaxed);
                return;
            }
            Err(e) if e.is_unavailable() => {
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, events = events.len(), "storing admission verdicts failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(config.max_backoff);
            }
            Err(e) => {
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .lost
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
                tracing::error!(error = %e, events = events.len(), "admission verdicts could not be stored and were dropped");
                return;
            }
        }
    }
}
