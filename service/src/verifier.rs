//! Trustwatch's own verifier: an image and a trust bundle in, a [`VerdictWithEvidence`] out.
//!
//! [`Verifier::decide`] is the whole admission check for one image:
//!
//! 1. When no policy of the bundle covers the image, the bundle's default decides and the
//!    registry is not asked at all.
//! 2. The digest: the reference's own, else the tag resolved through the registry.
//! 3. Signatures from both sources at once: the registry's `sha256-<hex>.sig` artifact, and the
//!    signing events Trustwatch recorded for the digest (with their trusted recorded time). A
//!    signature found in both is judged once, as the signing event's (its time is trusted), and
//!    [`SignatureOrigin::sources`] names both.
//! 4. [`domain::evaluate`], through a cache of verified (key, payload, signature) triples, so a
//!    repeated admission costs no signature verification.
//! 5. Registry trouble — unreachable, timed out, refusing access, sending nonsense — meets the
//!    [`FailurePolicy`]: only when the signatures at hand (the recorded ones) do not suffice.
//!    `fail` refuses with reason `registry_unreachable`; `ignore` admits with a warning. A
//!    database that cannot be read for signing events is not fatal either: the registry's
//!    signatures are judged alone (fewer signatures never make a decision more permissive).
//!
//! [`Verifier::decide_registry_only`] is the same without signing events, for callers without a
//! database (`trustwatch verify --bundle FILE`).
//!
//! ```no_run
//! # async fn example(pool: sqlx::PgPool, bundle: domain::TrustBundle) -> Result<(), Box<dyn std::error::Error>> {
//! use service::registry::{RegistryClient, RegistryConfig};
//! use service::verifier::{Verifier, VerifierConfig};
//!
//! let verifier = Verifier::new(RegistryClient::new(RegistryConfig::default())?, VerifierConfig::default());
//! let request = domain::AdmissionRequest {
//!     image: domain::ImageReference::parse("registry.example.com/payments/api:1.4")?,
//!     digest: None,
//!     cluster: "prod-eu-1".into(),
//!     namespace: "payments".into(),
//! };
//! let verdict = verifier.decide(&pool, &bundle, request, chrono::Utc::now()).await;
//! println!("{} {}", verdict.decision.allowed, verdict.decision.reason);
//! # Ok(()) }
//! ```
//!
//! [`DecisionRecorder`] stores verdicts as verification events through the ingestion path, in
//! batches, off the admission's critical path.

mod bundle;
mod evidence;
mod recorder;
mod verdict;
mod verified;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{
    evaluate, AdmissionRequest, Check, CheckKind, Decision, KeyFingerprint, Mode, PublicKey,
    ReasonCode, SignatureEvidence, SignatureSource, SignatureVerifier, TrustBundle,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::registry::{signature_tag, RegistryClient, RegistryError};

pub use bundle::{BundleCache, CachedBundle};
pub use evidence::{signing_event_evidence, MAX_SIGNING_EVENTS};
pub use recorder::{DecisionRecorder, RecorderConfig, RecorderStats};
pub use verdict::{checks_json, SignatureOrigin, VerdictWithEvidence};
pub use verified::{VerifiedCache, VerifiedCacheStats};

use evidence::EvidenceCache;

/// What an admission does when the registry cannot be asked (`admission_failure_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    /// Refuse, with reason `registry_unreachable` (fail closed).
    #[default]
    Fail,
    /// Admit, with a warning, and record the admission as an error.
    Ignore,
}

impl FailurePolicy {
    pub fn parse(s: &str) -> Result<Self, domain::ParseError> {
        match s.trim() {
            "fail" => Ok(Self::Fail),
            "ignore" => Ok(Self::Ignore),
            other => Err(domain::ParseError::new(format!(
                "{other:?} is not a failure policy: expected fail or ignore"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Ignore => "ignore",
        }
    }
}

/// How a [`Verifier`] behaves. `Default`: fail closed, 100 000 cached checks, signing events kept
/// 2 s, and 8 s for the registry (below Kubernetes' default webhook timeout of 10 s).
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub failure_policy: FailurePolicy,
    /// Verified (key, payload, signature) answers kept.
    pub verified_cache_entries: usize,
    /// How long the signing events of a digest are kept; `0` reads them every time.
    pub evidence_ttl: Duration,
    pub evidence_cache_entries: usize,
    /// The most one decision waits for the registry, tag resolution and signatures together.
    pub registry_budget: Duration,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            failure_policy: FailurePolicy::Fail,
            verified_cache_entries: 100_000,
            evidence_ttl: Duration::from_secs(2),
            evidence_cache_entries: 10_000,
            registry_budget: Duration::from_secs(8),
        }
    }
}

/// Counters since the verifier was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifierStats {
    pub verified: VerifiedCacheStats,
    pub evidence_hits: u64,
    pub evidence_misses: u64,
}

/// The server-side verifier. Cheap to clone; clones share the registry client and the caches.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    registry: RegistryClient,
    config: VerifierConfig,
    verified: VerifiedCache,
    evidence: EvidenceCache,
}

impl Verifier {
    pub fn new(registry: RegistryClient, config: VerifierConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                verified: VerifiedCache::new(config.verified_cache_entries),
                evidence: EvidenceCache::new(config.evidence_ttl, config.evidence_cache_entries),
                registry,
                config,
            }),
        }
    }

    pub fn registry(&self) -> &RegistryClient {
        &self.inner.registry
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// The cache of verified triples, usable as a [`SignatureVerifier`] on its own.
    pub fn signature_verifier(&self) -> &VerifiedCache {
        &self.inner.verified
    }

    pub fn stats(&self) -> VerifierStats {
        VerifierStats {
            verified: self.inner.verified.stats(),
            evidence_hits: self.inner.evidence.hits(),
            evidence_misses: self.inner.evidence.misses(),
        }
    }

    /// Decides whether `request` may be admitted under `bundle` at `now`, with signatures from
    /// the registry and from the signing events in `pool`. Never fails: every problem on the
    /// way ends in the verdict (see the module documentation).
    pub async fn decide(
        &self,
        pool: &PgPool,
        bundle: &TrustBundle,
        request: AdmissionRequest,
        now: DateTime<Utc>,
    ) -> VerdictWithEvidence {
        self.decide_with(Some(pool), bundle, request, now).await
    }

    /// [`Self::decide`] with the registry as the only source of signatures.
    pub async fn decide_registry_only(
        &self,
        bundle: &TrustBundle,
        request: AdmissionRequest,
        now: DateTime<Utc>,
    ) -> VerdictWithEvidence {
        self.decide_with(None, bundle, request, now).await
    }

    #[tracing::instrument(skip_all, fields(image = %request.image))]
    async fn decide_with(
        &self,
        pool: Option<&PgPool>,
        bundle: &TrustBundle,
        mut request: AdmissionRequest,
        now: DateTime<Utc>,
    ) -> VerdictWithEvidence {
        let name = request.image.name();
        let covered = bundle
            .policies()
            .iter()
            .any(|p| p.applies_to_name(&name, &request.cluster, &request.namespace));
        if !covered {
            let decision = evaluate(&request, &[], bundle, &self.inner.verified, now);
            return VerdictWithEvidence::new(request, decision, bundle.version());
        }

        let registry = &self.inner.registry;
        let budget = self.inner.config.registry_budget;
        let deadline = tokio::time::Instant::now() + budget;
        let registry_name = request.image.registry().to_owned();
        let timed_out = || RegistryError::Timeout {
            registry: registry_name.clone(),
            phase: "admission",
            after: budget,
        };
        let mut registry_error: Option<RegistryError> = None;
        let mut registry_notes: Vec<String> = Vec::new();

        if request.image.digest().is_none() {
            let tag = request.image.tag().unwrap_or("latest").to_owned();
            match tokio::time::timeout_at(deadline, registry.resolve(&request.image)).await {
                Ok(Ok(digest)) => {
                    registry_notes.push(format!("tag {tag} resolved to {digest}"));
                    request.digest = Some(digest);
                }
                Ok(Err(e)) if e.is_not_found() => {
                    registry_notes.push(format!("tag {tag} does not exist: {e}"));
                }
                Ok(Err(e)) => registry_error = Some(e),
                Err(_) => registry_error = Some(timed_out()),
            }
        }

        let digest = request.effective_digest().cloned();
        let mut registry_signatures = Vec::new();
        let mut recorded: Result<Arc<Vec<SignatureEvidence>>, String> = Ok(Arc::default());
        if let Some(digest) = &digest {
            let from_registry = async {
                if registry_error.is_some() {
                    return None;
                }
                Some(
                    match tokio::time::timeout_at(
                        deadline,
                        registry.signatures(&request.image, digest),
                    )
                    .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(timed_out()),
                    },
                )
            };
            let from_events = async {
                match pool {
                    Some(pool) => self
                        .inner
                        .evidence
                        .get(pool, digest)
                        .await
                        .map_err(|e| {
                            tracing::warn!(error = %e, "signing events could not be read; judging the registry's signatures alone");
                            if e.is_unavailable() {
                                "the database is unavailable".to_owned()
                            } else {
                                "they could not be read (the error is logged)".to_owned()
                            }
                        }),
                    None => Ok(Arc::default()),
                }
            };
            let (fetched, events) = tokio::join!(from_registry, from_events);
            match fetched {
                Some(Ok(signatures)) => {
                    registry_notes.push(format!(
                        "{} signature{} under {}",
                        signatures.len(),
                        if signatures.len() == 1 { "" } else { "s" },
                        signature_tag(digest)
                    ));
                    registry_signatures = signatures;
                }
                Some(Err(e)) => registry_error = Some(e),
                None => {}
            }
            recorded = events;
        }

        // Registry signatures first, in the manifest's order; a signature also recorded in a
        // signing event is judged as that (its recorded time is trusted) in the registry's place.
        let mut evidence: Vec<SignatureEvidence> = Vec::new();
        let mut origins: Vec<SignatureOrigin> = Vec::new();
        let recorded_list: &[SignatureEvidence] = match &recorded {
            Ok(list) => list,
            Err(_) => &[],
        };
        for s in &registry_signatures {
            match recorded_list
                .iter()
                .find(|e| e.payload == s.payload && e.signature == s.signature)
            {
                Some(event) => {
                    evidence.push(event.clone());
                    origins.push(SignatureOrigin::new(
                        vec![SignatureSource::Registry, SignatureSource::SigningEvent],
                        event,
                    ));
                }
                None => {
                    let e =
                        SignatureEvidence::from_registry(s.payload.clone(), s.signature.clone());
                    origins.push(SignatureOrigin::new(vec![SignatureSource::Registry], &e));
                    evidence.push(e);
                }
            }
        }
        for event in recorded_list {
            if !evidence
                .iter()
                .any(|e| e.payload == event.payload && e.signature == event.signature)
            {
                origins.push(SignatureOrigin::new(
                    vec![SignatureSource::SigningEvent],
                    event,
                ));
                evidence.push(event.clone());
            }
        }

        let recording = Recording {
            inner: &self.inner.verified,
            evidence: &evidence,
            verified_under: RefCell::new(vec![None; evidence.len()]),
        };
        let mut decision = evaluate(&request, &evidence, bundle, &recording, now);
        for (origin, key) in origins
            .iter_mut()
            .zip(recording.verified_under.into_inner())
        {
            origin.verified_under = key;
        }

        let sources = sources_check(
            &request,
            registry_error.as_ref(),
            &registry_notes,
            pool.is_some(),
            &recorded,
            digest.as_ref(),
        );
        decision.checks.insert(0, sources);
        if let Err(why) = &recorded {
            decision.warnings.push(format!(
                "signatures recorded by Trustwatch were not consulted: {why}"
            ));
        }

        let mut verdict = VerdictWithEvidence::new(request, decision, bundle.version());
        verdict.signatures = origins;
        if let Some(error) = registry_error {
            self.apply_failure_policy(&mut verdict, &error, evidence.len());
            verdict.registry_error = Some(error);
        }
        verdict.finish();
        verdict
    }

    /// The registry could not be asked. A decision the signatures at hand already allow stands;
    /// one they refuse is settled by the failure policy.
    fn apply_failure_policy(
        &self,
        verdict: &mut VerdictWithEvidence,
        error: &RegistryError,
        judged: usize,
    ) {
        let d = &mut verdict.decision;
        let registry = verdict.request.image.registry().to_owned();
        if d.allowed {
            d.warnings.push(format!(
                "registry {registry} could not be asked ({error}); decided on {judged} signature{} recorded by Trustwatch",
                if judged == 1 { "" } else { "s" }
            ));
            return;
        }
        let policy = self.inner.config.failure_policy;
        let without = format!(
            "With only the signatures Trustwatch has recorded, it would be refused ({}): {}",
            d.reason, d.summary
        );
        match policy {
            FailurePolicy::Fail => {
                d.reason = ReasonCode::RegistryUnreachable;
                d.summary = format!(
                    "Refused because registry {registry} could not be asked for {}'s signatures: {error}. {without}",
                    verdict.request.image
                );
                d.remediation.insert(
                    0,
                    format!(
                        "deploy again once registry {registry} answers (Trustwatch refuses what it cannot verify: admission_failure_policy is fail)"
                    ),
                );
            }
            FailurePolicy::Ignore => {
                d.allowed = true;
                d.reason = ReasonCode::RegistryUnreachable;
                d.mode = Mode::Warn;
                d.summary = format!(
                    "Admitted without verification because registry {registry} could not be asked ({error}) and admission_failure_policy is ignore. {without}"
                );
                d.warnings.push(format!(
                    "admitted unverified: registry {registry} could not be asked and the failure policy is ignore"
                ));
            }
        }
        verdict.failure_policy_applied = Some(policy);
    }
}

/// Counts which key each signature verified under while delegating to the shared cache.
struct Recording<'a> {
    inner: &'a VerifiedCache,
    evidence: &'a [SignatureEvidence],
    verified_under: RefCell<Vec<Option<KeyFingerprint>>>,
}

impl SignatureVerifier for Recording<'_> {
    fn verify(&self, key: &PublicKey, payload: &[u8], signature: &[u8]) -> bool {
        let ok = self.inner.verify(key, payload, signature);
        if ok {
            if let Some(i) = self
                .evidence
                .iter()
                .position(|e| e.payload == payload && e.signature == signature)
            {
                let mut under = self.verified_under.borrow_mut();
                if under[i].is_none() {
                    under[i] = Some(key.fingerprint().clone());
                }
            }
        }
        ok
    }
}

/// The check that says where signatures were looked for and what each source gave.
fn sources_check(
    request: &AdmissionRequest,
    registry_error: Option<&RegistryError>,
    registry_notes: &[String],
    consulted_events: bool,
    recorded: &Result<Arc<Vec<SignatureEvidence>>, String>,
    digest: Option<&domain::Digest>,
) -> Check {
    let registry = request.image.registry();
    let registry_check = match registry_error {
        Some(e) => Check::fail(
            CheckKind::Registry,
            format!("registry {registry}"),
            ReasonCode::RegistryUnreachable,
            e.to_string(),
        ),
        None if registry_notes.is_empty() => Check::pass(
            CheckKind::Registry,
            format!("registry {registry}"),
            "not asked",
        ),
        None => Check::pass(
            CheckKind::Registry,
            format!("registry {registry}"),
            registry_notes.join("; "),
        ),
    }
    .from_source(SignatureSource::Registry);
    let mut children = vec![registry_check];
    if consulted_events {
        let subject = "signing events";
        let check = match (recorded, digest) {
            (Err(why), _) => Check {
                passed: false,
                ..Check::pass(
                    CheckKind::SigningEvents,
                    subject,
                    format!("not consulted: {why}"),
                )
            },
            (Ok(_), None) => Check::pass(
                CheckKind::SigningEvents,
                subject,
                "not consulted: the digest is unknown",
            ),
            (Ok(list), Some(d)) => Check::pass(
                CheckKind::SigningEvents,
                subject,
                format!(
                    "{} signature{} recorded by Trustwatch for {d}",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                ),
            ),
        }
        .from_source(SignatureSource::SigningEvent);
        children.push(check);
    }
    let passed = children.iter().all(|c| c.passed);
    let detail = if passed {
        "every source of signatures answered".to_owned()
    } else {
        "a source of signatures did not answer".to_owned()
    };
    Check {
        passed,
        reason: registry_error.map(|_| ReasonCode::RegistryUnreachable),
        ..Check::pass(CheckKind::Sources, "signature sources", detail)
    }
    .with_children(children)
}

/// Decides nothing; for a check that cannot start (the caller found no bundle, or an image
/// that is no reference): a refusal in `Decision` form with `reason`.
pub fn refusal(reason: ReasonCode, summary: String, remediation: Vec<String>) -> Decision {
    Decision {
        allowed: false,
        reason,
        mode: Mode::Enforce,
        summary,
        checks: Vec::new(),
        warnings: Vec::new(),
        remediation,
    }
}
