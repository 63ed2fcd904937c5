//! A decision with the evidence it rests on, and its form as a verification event.

use chrono::{DateTime, Utc};
use domain::{
    AdmissionRequest, Check, CheckKind, Decision, Engine, KeyFingerprint, Mode, Outcome,
    ReasonCode, SignatureEvidence, SignatureSource, VerificationEvent,
};
use uuid::Uuid;

use super::FailurePolicy;
use crate::registry::RegistryError;

/// Where one judged signature came from, and the key it verified under. The list in
/// [`VerdictWithEvidence::signatures`] is in the order the checks number them
/// (`signature #1` is the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureOrigin {
    /// The registry, a signing event, or both (then it was judged with the event's time).
    pub sources: Vec<SignatureSource>,
    /// When Trustwatch recorded it, for signatures from signing events.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The key its signing event names, if any (a hint, never trusted).
    pub named_key: Option<KeyFingerprint>,
    /// The bundle key it verified under, if any.
    pub verified_under: Option<KeyFingerprint>,
}

impl SignatureOrigin {
    pub(super) fn new(sources: Vec<SignatureSource>, evidence: &SignatureEvidence) -> Self {
        Self {
            sources,
            recorded_at: evidence.trusted_time(),
            named_key: evidence.key.clone(),
            verified_under: None,
        }
    }
}

/// The verdict on one image and what it rests on.
#[derive(Debug, Clone)]
pub struct VerdictWithEvidence {
    /// The request as decided: `digest` is the one the tag resolved to, when it was resolved.
    pub request: AdmissionRequest,
    /// The decision. Its first check (kind `sources`) says what the registry and the signing
    /// events gave.
    pub decision: Decision,
    /// How the admission ended, as a verification event records it.
    pub outcome: Outcome,
    pub signatures: Vec<SignatureOrigin>,
    /// The keys involved: those signatures verified under, and those signing events named.
    pub keys: Vec<KeyFingerprint>,
    /// The policies that cover the image, failing ones first.
    pub policies: Vec<String>,
    /// What went wrong with the registry, if anything did.
    pub registry_error: Option<RegistryError>,
    /// Set when the registry error decided the verdict through the failure policy.
    pub failure_policy_applied: Option<FailurePolicy>,
    pub bundle_version: u64,
}

impl VerdictWithEvidence {
    pub(super) fn new(request: AdmissionRequest, decision: Decision, bundle_version: u64) -> Self {
        let mut verdict = Self {
            request,
            decision,
            outcome: Outcome::Admitted,
            signatures: Vec::new(),
            keys: Vec::new(),
            policies: Vec::new(),
            registry_error: None,
            failure_policy_applied: None,
            bundle_version,
        };
        verdict.finish();
        verdict
    }

    /// Derives the outcome, keys and policies from the decision and signatures.
    pub(super) fn finish(&mut self) {
        let d = &self.decision;
        self.outcome = if !d.allowed {
            Outcome::Rejected
        } else if self.failure_policy_applied.is_some() {
            Outcome::Error
        } else if d.mode == Mode::Warn {
            Outcome::Warned
        } else {
            Outcome::Admitted
        };
        let mut keys: Vec<KeyFingerprint> = Vec::new();
        for s in &self.signatures {
            for k in [&s.verified_under, &s.named_key].into_iter().flatten() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        keys.truncate(domain::wire::MAX_KEYS);
        self.keys = keys;
        let policy_checks = d.checks.iter().filter(|c| c.kind == CheckKind::Policy);
        let (failing, passing): (Vec<_>, Vec<_>) = policy_checks.partition(|c| !c.passed);
        self.policies = failing
            .into_iter()
            .chain(passing)
            .map(|c| {
                c.subject
                    .strip_prefix("policy ")
                    .unwrap_or(&c.subject)
                    .to_owned()
            })
            .collect();
    }

    /// The reason a verification event records: the decision's for a refusal or an error; for a
    /// warning, the failing warn-mode policy's (the decision itself says `admitted`).
    pub fn event_reason(&self) -> ReasonCode {
        match self.outcome {
            Outcome::Rejected | Outcome::Error => self.decision.reason,
            Outcome::Warned => self
                .decision
                .checks
                .iter()
                .filter(|c| c.kind != CheckKind::Sources)
                .find(|c| !c.passed)
                .and_then(|c| c.reason)
                .unwrap_or(ReasonCode::Admitted),
            Outcome::Admitted => ReasonCode::Admitted,
        }
    }

    /// This verdict as the verification event Trustwatch stores for it, engine `trustwatch`.
    pub fn to_event(
        &self,
        id: Uuid,
        workload_kind: &str,
        workload_name: &str,
        observed_at: DateTime<Utc>,
    ) -> VerificationEvent {
        let mut event = self.event_without_checks(id, workload_kind, workload_name, observed_at);
        event.checks = serde_json::from_str(&checks_json(&self.decision.checks))
            .unwrap_or(serde_json::Value::Array(Vec::new()));
        event
    }

    /// The event and the decision's checks, taken apart without copying the checks; the checks
    /// become the event's `checks` JSON through [`checks_json`]. The event's own `checks` field
    /// is left empty.
    pub fn into_event(
        self,
        id: Uuid,
        workload_kind: &str,
        workload_name: &str,
        observed_at: DateTime<Utc>,
    ) -> (VerificationEvent, Vec<Check>) {
        let event = self.event_without_checks(id, workload_kind, workload_name, observed_at);
        (event, self.decision.checks)
    }

    fn event_without_checks(
        &self,
        id: Uuid,
        workload_kind: &str,
        workload_name: &str,
        observed_at: DateTime<Utc>,
    ) -> VerificationEvent {
        use domain::wire::{MAX_MESSAGE, MAX_SHORT_TEXT};
        let short = |s: &str| -> String { s.chars().take(MAX_SHORT_TEXT).collect() };
        let policy = (!self.policies.is_empty()).then(|| short(&self.policies.join(",")));
        let mut message = self.decision.summary.clone();
        if message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        VerificationEvent {
            id,
            cluster: self.request.cluster.clone(),
            namespace: short(&self.request.namespace),
            workload_kind: short(workload_kind),
            workload_name: short(workload_name),
            image: self.request.image.clone(),
            digest: self.request.effective_digest().cloned(),
            outcome: self.outcome,
            reason: self.event_reason(),
            engine: Engine::Trustwatch,
            policy,
            message: Some(message),
            checks: serde_json::Value::Null,
            // Within the wire limits, so the event passes the same validation as any other.
            remediation: self
                .decision
                .remediation
                .iter()
                .take(domain::wire::MAX_REMEDIATION_STEPS)
                .map(|step| one_line(step, domain::wire::MAX_REMEDIATION_STEP))
                .collect(),
            keys: self.keys.clone(),
            observed_at,
        }
    }
}

/// `text` on one line, cut at a character boundary to at most `max` bytes.
fn one_line(text: &str, max: usize) -> String {
    let mut line = text.replace(['\r', '\n'], " ");
    if line.len() > max {
        let mut end = max;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    line
}

/// A decision's checks as the JSON text a verification event stores. A tree too large to store
/// whole (over `wire::MAX_CHECKS_JSON`) keeps each top-level check without its children, which
/// still says which policy failed and why.
pub fn checks_json(checks: &[Check]) -> String {
    let json = serde_json::to_string(checks).unwrap_or_else(|_| "[]".to_owned());
    if json.len() <= domain::wire::MAX_CHECKS_JSON {
        return json;
    }
    let tops: Vec<Check> = checks
        .iter()
        .map(|c| Check {
            children: Vec::new(),
            ..c.clone()
        })
        .collect();
    serde_json::to_string(&tops).unwrap_or_else(|_| "[]".to_owned())
}
