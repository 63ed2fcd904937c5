//! What would fix a refusal now. Trustwatch's own verifier stores its remediation with each
//! refusal; other engines say what failed but not how to fix it. For those (and to tell whether
//! a refusal still holds) the recorded admission is judged again against the current trust
//! bundle and the signatures recorded since, with the same `domain::evaluate` the webhook uses.
//! The registry is not consulted: a page view must not make network calls on a developer's
//! behalf, so a signature that only exists in the registry is not seen here (the page says so).

use chrono::{DateTime, Utc};
use domain::decision::AdmissionRequest;
use domain::{evaluate, Digest, DirectVerifier, ImageReference};
use sqlx::PgPool;

use super::Rejection;
use crate::verifier::signing_event_evidence;
use crate::{trust_bundle, ServiceError};

/// The recorded refusal judged again, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// The trust-bundle version it was judged against.
    pub bundle_version: u64,
    /// Whether the image would be admitted now.
    pub admitted_now: bool,
    /// The verifier's sentence for the new judgement.
    pub summary: String,
    /// Commands and steps that would fix it, empty when it would be admitted.
    pub remediation: Vec<String>,
}

/// `None` when there is no published bundle yet or the stored image no longer parses.
pub async fn advise(
    pool: &PgPool,
    rejection: &Rejection,
    now: DateTime<Utc>,
) -> Result<Option<Advice>, ServiceError> {
    let Some(published) = trust_bundle::current(pool).await? else {
        return Ok(None);
    };
    let Ok(image) = ImageReference::parse(&rejection.image) else {
        return Ok(None);
    };
    let digest = rejection
        .digest
        .as_deref()
        .and_then(|d| Digest::parse(d).ok());
    let request = AdmissionRequest {
        image,
        digest,
        cluster: rejection.cluster.clone(),
        namespace: rejection.namespace.clone(),
    };
    let signatures = match request.effective_digest() {
        Some(d) => signing_event_evidence(pool, d).await?,
        None => Vec::new(),
    };
    let decision = evaluate(
        &request,
        &signatures,
        &published.bundle,
        &DirectVerifier,
        now,
    );
    Ok(Some(Advice {
        bundle_version: published.version,
        admitted_now: decision.allowed,
        summary: decision.summary,
        remediation: if decision.allowed {
            Vec::new()
        } else {
            decision.remediation
        },
    }))
}
