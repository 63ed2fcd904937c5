//! "What would this change do?": a proposed set of policy and key-group documents judged against
//! the admissions clusters actually reported over the last days, before anyone applies it.
//!
//! Each distinct (image, digest, cluster, namespace) seen in the window is evaluated twice — under
//! the current trust bundle and under the same bundle with the proposal laid over it — using the
//! signatures Trustwatch recorded in signing events. The registry is not asked: a dry run must be
//! quick and must not depend on a registry being reachable, so images signed only in a registry
//! look unsigned here, and the report says so.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use domain::decision::{AdmissionRequest, SignatureEvidence};
use domain::trust_bundle::{TrustBundle, TrustBundleContents};
use domain::{Digest, ImageReference, KeyFingerprint, PolicyItem};
use serde::Serialize;
use sqlx::PgPool;

use crate::ServiceError;

/// At most this many distinct placements are judged, the most frequently admitted first, so a
/// dry run stays quick on a large fleet.
pub const MAX_PLACEMENTS: i64 = 500;

/// How a proposal would change verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impact {
    pub window_days: i64,
    /// Distinct (image, digest, cluster, namespace) judged, and the admissions they stand for.
    pub placements: usize,
    pub admissions: i64,
    /// True when there were more placements than `MAX_PLACEMENTS`.
    pub truncated: bool,
    pub refused_now: usize,
    pub refused_after: usize,
    pub warned_now: usize,
    pub warned_after: usize,
    /// The placements whose verdict changes, most admissions first.
    pub changes: Vec<VerdictChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictChange {
    pub image: String,
    pub digest: Option<String>,
    pub cluster: String,
    pub namespace: String,
    pub admissions: i64,
    pub now: Verdict,
    pub after: Verdict,
    /// The decision's sentence under the proposal.
    pub summary: String,
}

impl VerdictChange {
    /// Admitted (or admitted with a warning) today, refused after the change: what breaks.
    pub fn newly_refused(&self) -> bool {
        self.after == Verdict::Refused && self.now != Verdict::Refused
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Warned,
    Refused,
}

impl Verdict {
    fn of(d: &domain::Decision) -> Self {
        if !d.allowed {
            Verdict::Refused
        } else if !d.warnings.is_empty() {
            Verdict::Warned
        } else {
            Verdict::Allowed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Warned => "warned",
            Verdict::Refused => "refused",
        }
    }
}

/// `current` with `proposal` laid over it: documents replace stored ones of the same kind and
/// name, new ones are added. Refused when the result is inconsistent (a policy naming a key that
/// does not exist, say), with the bundle's own problems.
pub fn overlay(
    current: &TrustBundle,
    proposal: &[PolicyItem],
) -> Result<TrustBundle, ServiceError> {
    let mut policies = current.policies().to_vec();
    let mut key_groups = current.key_groups().to_vec();
    for item in proposal {
        match item {
            PolicyItem::Policy(p) => match policies.iter_mut().find(|q| q.name() == p.name()) {
                Some(slot) => *slot = p.clone(),
                None => policies.push(p.clone()),
            },
            PolicyItem::KeyGroup(g) => match key_groups.iter_mut().find(|h| h.name() == g.name()) {
                Some(slot) => *slot = g.clone(),
                None => key_groups.push(g.clone()),
            },
        }
    }
    TrustBundle::new(TrustBundleContents {
        version: current.version(),
        issued_at: current.issued_at(),
        expires_at: current.expires_at(),
        keys: current.keys().to_vec(),
        key_groups,
        policies,
        default_action: current.default_action(),
    })
    .map_err(|e| ServiceError::Invalid(e.to_string()))
}

/// One (image, digest, cluster, namespace) and how often it was admitted or refused.
#[derive(sqlx::FromRow)]
struct Placement {
    image: String,
    digest: Option<String>,
    cluster: String,
    namespace: String,
    admissions: i64,
}

#[derive(sqlx::FromRow)]
struct RecordedSignature {
    digest: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
    recorded_at: DateTime<Utc>,
    key_fingerprint: String,
}

/// Judges `proposal` against the admissions of the last `window_days` days.
pub async fn impact(
    pool: &PgPool,
    proposal: &[PolicyItem],
    window_days: i64,
    now: DateTime<Utc>,
) -> Result<Impact, ServiceError> {
    let current = current_bundle(pool).await?;
    let proposed = overlay(&current, proposal)?;
    replay(pool, &current, &proposed, window_days, now).await
}

/// The newest published trust bundle: what verifiers decide with today.
pub(crate) async fn current_bundle(pool: &PgPool) -> Result<TrustBundle, ServiceError> {
    Ok(crate::trust_bundle::current(pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound("a published trust bundle".into()))?
        .bundle)
}

/// Replays the admissions of the last `window_days` days under `current` and under `changed`,
/// and reports the placements whose verdict differs. Shared by the policy dry run and "what if"
/// so both judge a change the same way.
pub(crate) async fn replay(
    pool: &PgPool,
    current: &TrustBundle,
    changed: &TrustBundle,
    window_days: i64,
    now: DateTime<Utc>,
) -> Result<Impact, ServiceError> {
    let rows: Vec<Placement> = sqlx::query_as(
        "SELECT e.image, e.digest, c.name AS cluster, e.namespace, count(*) AS admissions
           FROM verification_events e JOIN clusters c ON c.id = e.cluster_id
          WHERE e.observed_at >= $1 AND e.observed_at <= $2
          GROUP BY 1, 2, 3, 4
          ORDER BY 5 DESC, 1, 3, 4
          LIMIT $3",
    )
    .bind(now - Duration::days(window_days))
    .bind(now)
    .bind(MAX_PLACEMENTS + 1)
    .fetch_all(pool)
    .await?;
    let truncated = rows.len() as i64 > MAX_PLACEMENTS;
    let rows = &rows[..rows.len().min(MAX_PLACEMENTS as usize)];

    let digests: Vec<&str> = rows.iter().filter_map(|r| r.digest.as_deref()).collect();
    let evidence = recorded_signatures(pool, &digests).await?;

    let verifier = domain::DirectVerifier;
    let mut impact = Impact {
        window_days,
        placements: rows.len(),
        admissions: rows.iter().map(|r| r.admissions).sum(),
        truncated,
        refused_now: 0,
        refused_after: 0,
        warned_now: 0,
        warned_after: 0,
        changes: Vec::new(),
    };
    for Placement {
        image,
        digest,
        cluster,
        namespace,
        admissions,
    } in rows
    {
        // Stored references were validated at ingestion; one that no longer parses is skipped
        // rather than failing the whole report.
        let Ok(reference) = ImageReference::parse(image) else {
            continue;
        };
        let request = AdmissionRequest {
            image: reference,
            digest: digest.as_deref().and_then(|d| Digest::parse(d).ok()),
            cluster: cluster.clone(),
            namespace: namespace.clone(),
        };
        let signatures = digest
            .as_deref()
            .and_then(|d| evidence.get(d))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let before = domain::evaluate(&request, signatures, current, &verifier, now);
        let after = domain::evaluate(&request, signatures, changed, &verifier, now);
        let (was, will) = (Verdict::of(&before), Verdict::of(&after));
        impact.refused_now += usize::from(was == Verdict::Refused);
        impact.refused_after += usize::from(will == Verdict::Refused);
        impact.warned_now += usize::from(was == Verdict::Warned);
        impact.warned_after += usize::from(will == Verdict::Warned);
        if was != will {
            impact.changes.push(VerdictChange {
                image: image.clone(),
                digest: digest.clone(),
                cluster: cluster.clone(),
                namespace: namespace.clone(),
                admissions: *admissions,
                now: was,
                after: will,
                summary: after.summary,
            });
        }
    }
    Ok(impact)
}

/// The signatures recorded in signing events for each digest, as evaluation evidence.
async fn recorded_signatures(
    pool: &PgPool,
    digests: &[&str],
) -> Result<HashMap<String, Vec<SignatureEvidence>>, ServiceError> {
    let rows: Vec<RecordedSignature> = sqlx::query_as(
        "SELECT digest, payload, signature, recorded_at, key_fingerprint
           FROM signing_events
          WHERE digest = ANY($1) AND payload IS NOT NULL AND signature IS NOT NULL",
    )
    .bind(digests)
    .fetch_all(pool)
    .await?;
    let mut by_digest: HashMap<String, Vec<SignatureEvidence>> = HashMap::new();
    for r in rows {
        by_digest
            .entry(r.digest)
            .or_default()
            .push(SignatureEvidence::from_signing_event(
                r.payload,
                r.signature,
                r.recorded_at,
                KeyFingerprint::parse(&r.key_fingerprint).ok(),
            ));
    }
    Ok(by_digest)
}
