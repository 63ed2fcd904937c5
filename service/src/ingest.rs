//! Storing reported events in bulk: one statement per batch, idempotent on the sender's ids.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::{SigningEvent, VerificationEvent};
use sqlx::PgPool;
use uuid::Uuid;

use crate::known_images::upsert_known_images;
use crate::{clusters, Actor, ServiceError};

/// What a batch did: how many events were new and how many had been stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestReport {
    pub accepted: u64,
    pub duplicates: u64,
}

/// Stores a batch of verification events, all or nothing. `received_at` is the server's clock at
/// arrival (the demo replays history with past times). Unknown clusters are registered only when
/// `register_unknown_clusters` is true; otherwise they refuse the batch.
pub async fn record_verification_events(
    pool: &PgPool,
    actor: &Actor,
    events: &[VerificationEvent],
    received_at: DateTime<Utc>,
    register_unknown_clusters: bool,
) -> Result<IngestReport, ServiceError> {
    let rows = events
        .iter()
        .map(|e| (e, Cow::Owned(e.checks.to_string())))
        .collect();
    record(pool, actor, rows, received_at, register_unknown_clusters).await
}

/// [`record_verification_events`] for events whose checks are already JSON text (a list); their
/// `checks` field is ignored. The admission webhook writes its decisions' checks straight to
/// text, without building a JSON tree first.
pub async fn record_verification_events_with_checks(
    pool: &PgPool,
    actor: &Actor,
    events: &[(VerificationEvent, String)],
    received_at: DateTime<Utc>,
    register_unknown_clusters: bool,
) -> Result<IngestReport, ServiceError> {
    let rows = events
        .iter()
        .map(|(e, checks)| (e, Cow::Borrowed(checks.as_str())))
        .collect();
    record(pool, actor, rows, received_at, register_unknown_clusters).await
}

/// An event and its checks as JSON text.
type Row<'a> = (&'a VerificationEvent, Cow<'a, str>);

async fn record(
    pool: &PgPool,
    actor: &Actor,
    events: Vec<Row<'_>>,
    received_at: DateTime<Utc>,
    register_unknown_clusters: bool,
) -> Result<IngestReport, ServiceError> {
    if events.is_empty() {
        return Ok(IngestReport::default());
    }
    let sent = events.len() as u64;
    // An id sent twice in one batch is one event; the first copy is kept, as a resend would be.
    let mut seen = HashSet::with_capacity(events.len());
    let unique: Vec<Row> = events
        .into_iter()
        .filter(|(e, _)| seen.insert((e.id, e.observed_at)))
        .collect();

    // Duplicates of stored events are skipped by an anti-join, which costs a fraction of
    // `ON CONFLICT`'s speculative insertion (measured in docs/benchmarks.md). Two requests
    // carrying the same new id at the same moment can both pass it; the second then fails on the
    // primary key, rolls back whole, and its retry finds the first one's rows.
    let clusters = resolve_clusters(pool, actor, &unique, register_unknown_clusters).await?;
    let mut attempt = 0;
    let inserted = loop {
        attempt += 1;
        match insert_verification_events(pool, &unique, &clusters, received_at).await {
            Err(ServiceError::Database(sqlx::Error::Database(db)))
                if db.is_unique_violation() && attempt < 3 =>
            {
                continue
            }
            other => break other?,
        }
    };

    // "Last seen" is a marker, not part of the batch: set after the commit, and at most every few
    // seconds, so concurrent batches of one cluster do not queue on its row.
    sqlx::query(
        "UPDATE clusters SET last_report_at = $2
          WHERE id = ANY($1)
            AND (last_report_at IS NULL OR last_report_at < $2 - interval '5 seconds')",
    )
    .bind(clusters.values().copied().collect::<Vec<Uuid>>())
    .bind(received_at)
    .execute(pool)
    .await?;
    Ok(IngestReport {
        accepted: inserted,
        duplicates: sent - inserted,
    })
}

/// The id of every cluster the batch names. Unknown ones are registered (when allowed) each in a
/// short transaction of its own, before the batch's: registering is audited, and the audit lock
/// held to the end of a batch while another batch registers a second new cluster would deadlock
/// the two (seen when two loaders brought up a new fleet at once).
async fn resolve_clusters(
    pool: &PgPool,
    actor: &Actor,
    events: &[Row<'_>],
    register_unknown_clusters: bool,
) -> Result<HashMap<String, Uuid>, ServiceError> {
    let mut names: Vec<&str> = events.iter().map(|(e, _)| e.cluster.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let known: Vec<(String, Uuid)> =
        sqlx::query_as("SELECT name, id FROM clusters WHERE name = ANY($1)")
            .bind(&names)
            .fetch_all(pool)
            .await?;
    let mut ids: HashMap<String, Uuid> = known.into_iter().collect();
    for name in names {
        if ids.contains_key(name) {
            continue;
        }
        if !register_unknown_clusters {
            return Err(ServiceError::Forbidden(format!(
                "cluster {name:?} is not registered and this token may not register clusters"
            )));
        }
        let mut tx = pool.begin().await?;
        let id = clusters::register(&mut tx, actor, name, None).await?;
        tx.commit().await?;
        ids.insert(name.to_owned(), id);
    }
    Ok(ids)
}

/// One attempt at storing a batch whose ids are unique within it: the new events and their
/// hourly counts in one transaction. Returns how many were new.
async fn insert_verification_events(
    pool: &PgPool,
    events: &[Row<'_>],
    cluster_ids: &HashMap<String, Uuid>,
    received_at: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    let mut tx = pool.begin().await?;

    let n = events.len();
    let mut ids = Vec::with_capacity(n);
    let mut cluster = Vec::with_capacity(n);
    let mut namespace = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut workload = Vec::with_capacity(n);
    let mut image = Vec::with_capacity(n);
    let mut repository = Vec::with_capacity(n);
    let mut digest = Vec::with_capacity(n);
    let mut outcome = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut engine = Vec::with_capacity(n);
    let mut policy = Vec::with_capacity(n);
    let mut message = Vec::with_capacity(n);
    let mut checks = Vec::with_capacity(n);
    let mut remediation = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut observed = Vec::with_capacity(n);
    for (e, checks_json) in events {
        ids.push(e.id);
        cluster.push(cluster_ids[e.cluster.as_str()]);
        namespace.push(e.namespace.as_str());
        kind.push(e.workload_kind.as_str());
        workload.push(e.workload_name.as_str());
        image.push(e.image.to_string());
        repository.push(e.image.name());
        digest.push(e.digest.as_ref().map(|d| d.as_str()));
        outcome.push(e.outcome.as_str());
        reason.push(e.reason.as_str());
        engine.push(e.engine.as_str());
        policy.push(e.policy.as_deref());
        message.push(e.message.as_deref());
        checks.push(checks_json.as_ref());
        // Steps are single lines (checked by the wire validation), so newlines join them.
        remediation.push((!e.remediation.is_empty()).then(|| e.remediation.join("\n")));
        // Fingerprints hold no commas, so a joined string stands in for the ragged text[][] that
        // UNNEST cannot take.
        keys.push(
            e.keys
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        observed.push(e.observed_at);
    }
    // One statement stores the new events, adds them to the hourly rollup, records repositories
    // never seen before (for the Rejections page's image search) and keeps the known images (for
    // the Images search): only the rows that were new are counted, and summary rows are written
    // in a fixed order so concurrent batches cannot deadlock. `OFFSET 0` keeps the duplicate check a
    // primary-key probe per row: without it the planner turns it into a hash anti-join over the
    // whole month's partition once a batch has a few hundred rows and the month a few hundred
    // thousand (measured in docs/benchmarks.md), a full scan per batch, compiled with JIT.
    let inserted: i64 = sqlx::query_scalar(concat!(
        "WITH inserted AS (
         INSERT INTO verification_events
             (id, cluster_id, namespace, workload_kind, workload_name, image, repository, digest,
              outcome, reason, engine, policy, message, checks, key_fingerprints, observed_at,
              received_at, remediation)
         SELECT id, cluster_id, namespace, kind, workload, image, repository, digest, outcome, reason,
                engine, policy, message, checks::jsonb,
                CASE WHEN keys = '' THEN '{}'::text[] ELSE string_to_array(keys, ',') END,
                observed_at, $17, remediation
           FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                       $13::text[], $14::text[], $15::text[], $16::timestamptz[], $19::text[])
                AS t(id, cluster_id, namespace, kind, workload, image, repository, digest, outcome,
                     reason, engine, policy, message, checks, keys, observed_at, remediation)
          WHERE NOT EXISTS (SELECT 1 FROM verification_events v
                             WHERE v.id = t.id AND v.observed_at = t.observed_at OFFSET 0)
         RETURNING observed_at, cluster_id, outcome, reason, engine, digest, repository, namespace,
                   image
         ), rolled AS (
         INSERT INTO verification_hourly (hour, cluster_id, outcome, reason, engine, shard, events)
         SELECT date_trunc('hour', observed_at), cluster_id, outcome, reason, engine, $18, count(*)
           FROM inserted GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
         ON CONFLICT (hour, cluster_id, outcome, reason, engine, shard)
         DO UPDATE SET events = verification_hourly.events + EXCLUDED.events
         RETURNING 1
         ), repositories AS (
         INSERT INTO image_repositories (repository, first_seen)
         SELECT repository, min(observed_at) FROM inserted GROUP BY 1 ORDER BY 1
         ON CONFLICT (repository) DO NOTHING
         RETURNING 1
         ), seen AS (
         SELECT image, repository, digest, observed_at AS at FROM inserted
         ), known AS (",
        upsert_known_images!(),
        ")
         SELECT count(*) FROM inserted",
    ))
    .bind(&ids)
    .bind(&cluster)
    .bind(&namespace)
    .bind(&kind)
    .bind(&workload)
    .bind(&image)
    .bind(&repository)
    .bind(&digest)
    .bind(&outcome)
    .bind(&reason)
    .bind(&engine)
    .bind(&policy)
    .bind(&message)
    .bind(&checks)
    .bind(&keys)
    .bind(&observed)
    .bind(received_at)
    .bind(rollup_shard())
    .bind(&remediation)
    .fetch_one(&mut *tx)
    .await?;

    tx.commit().await?;
    Ok(inserted as u64)
}

/// How many rows each hourly count is spread over (see the `verification_hourly` migration).
const ROLLUP_SHARDS: i16 = 8;

fn rollup_shard() -> i16 {
    use rand::Rng;
    rand::thread_rng().gen_range(0..ROLLUP_SHARDS)
}

/// Stores a batch of signing events, all or nothing. `recorded_at` is Trustwatch's own clock at
/// arrival, the time that decides "signed before or after the compromise".
pub async fn record_signing_events(
    pool: &PgPool,
    events: &[SigningEvent],
    recorded_at: DateTime<Utc>,
) -> Result<IngestReport, ServiceError> {
    if events.is_empty() {
        return Ok(IngestReport::default());
    }
    let n = events.len();
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let key: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
    let image: Vec<String> = events.iter().map(|e| e.image.to_string()).collect();
    let repository: Vec<String> = events.iter().map(|e| e.image.name()).collect();
    let digest: Vec<&str> = events.iter().map(|e| e.digest.as_str()).collect();
    let identity: Vec<&str> = events.iter().map(|e| e.signer_identity.as_str()).collect();
    let host: Vec<Option<&str>> = events.iter().map(|e| e.signer_host.as_deref()).collect();
    let payload: Vec<Option<Vec<u8>>> = events.iter().map(|e| e.payload.clone()).collect();
    let signature: Vec<Option<Vec<u8>>> = events.iter().map(|e| e.signature.clone()).collect();
    let claimed: Vec<Option<DateTime<Utc>>> = events.iter().map(|e| e.claimed_at).collect();
    // The new events, the key's signer and per-day counts (the key page), the repositories
    // never seen before and the known images, in one statement; summary rows in key order so
    // concurrent batches cannot deadlock.
    let inserted: i64 = sqlx::query_scalar(concat!(
        "WITH inserted AS (
         INSERT INTO signing_events (id, key_fingerprint, image, repository, digest, signer_identity,
                                     signer_host, payload, signature, claimed_at, recorded_at)
         SELECT *, $11 FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                   $6::text[], $7::text[], $8::bytea[], $9::bytea[], $10::timestamptz[])
         ON CONFLICT (id) DO NOTHING
         RETURNING image, repository, digest, recorded_at, key_fingerprint, signer_identity,
                   signer_host
         ), signers AS (
         INSERT INTO key_signers AS k (key_fingerprint, signer_identity, signer_host, signatures,
                                       first_seen, last_seen)
         SELECT key_fingerprint, signer_identity, coalesce(signer_host, ''), count(*),
                min(recorded_at), max(recorded_at)
           FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT (key_fingerprint, signer_identity, signer_host) DO UPDATE
            SET signatures = k.signatures + EXCLUDED.signatures,
                first_seen = least(k.first_seen, EXCLUDED.first_seen),
                last_seen = greatest(k.last_seen, EXCLUDED.last_seen)
         RETURNING 1
         ), daily AS (
         INSERT INTO key_signing_daily AS d (key_fingerprint, day, signer_identity, signatures)
         SELECT key_fingerprint, (recorded_at AT TIME ZONE 'UTC')::date, signer_identity, count(*)
           FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT (key_fingerprint, day, signer_identity) DO UPDATE
            SET signatures = d.signatures + EXCLUDED.signatures
         RETURNING 1
         ), repositories AS (
         INSERT INTO image_repositories (repository, first_seen)
         SELECT DISTINCT repository, $11 FROM inserted ORDER BY 1
         ON CONFLICT (repository) DO NOTHING
         RETURNING 1
         ), seen AS (
         SELECT image, repository, digest, recorded_at AS at FROM inserted
         ), known AS (",
        upsert_known_images!(),
        ")
         SELECT count(*) FROM inserted",
    ))
    .bind(&ids)
    .bind(&key)
    .bind(&image)
    .bind(&repository)
    .bind(&digest)
    .bind(&identity)
    .bind(&host)
    .bind(&payload)
    .bind(&signature)
    .bind(&claimed)
    .bind(recorded_at)
    .fetch_one(pool)
    .await?;
    let inserted = inserted as u64;
    Ok(IngestReport {
        accepted: inserted,
        duplicates: n as u64 - inserted,
    })
}
