//! What an admission is asked, the evidence it is judged on, and the `Decision` it ends in.
//!
//! A `Decision` is meant to be read by the developer whose deployment it concerns: besides the
//! verdict and the reason code it carries every check that led there (per policy, per authority,
//! per signature, with what was expected and what was found) and the exact commands that fix it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fingerprint::KeyFingerprint;
use crate::image::{Digest, ImageReference};
use crate::policy::Mode;
use crate::reason::ReasonCode;
use crate::verification_event::SigningEvent;

/// One image of a workload, as the admission sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionRequest {
    /// The reference as deployed (`registry/repository[:tag][@digest]`).
    pub image: ImageReference,
    /// The digest the tag resolved to in the registry, when the image was deployed by tag. A
    /// digest in the reference itself wins: it is what the kubelet pulls.
    pub digest: Option<Digest>,
    pub cluster: String,
    pub namespace: String,
}

impl AdmissionRequest {
    /// The digest that signatures are checked against: the pinned one, else the resolved one.
    pub fn effective_digest(&self) -> Option<&Digest> {
        self.image.digest().or(self.digest.as_ref())
    }
}

/// Where a signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureSource {
    /// A `sha256-<hex>.sig` artifact in the registry, as cosign stores it.
    Registry,
    /// A signing event reported to Trustwatch by CI or a signer.
    SigningEvent,
}

/// One signature to judge: the payload bytes it covers and the signature over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureEvidence {
    pub payload: Vec<u8>,
    /// The raw signature (for ECDSA, ASN.1 DER), already decoded from base64.
    pub signature: Vec<u8>,
    pub source: SignatureSource,
    /// When Trustwatch recorded the signing event. Only trusted for `SigningEvent` evidence: a
    /// time attached to a registry signature is ignored, since nothing vouches for it.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The key the signing event names. A hint for finding the key faster and for a clearer
    /// verdict when the signature does not verify; it is never taken on trust.
    pub key: Option<KeyFingerprint>,
}

impl SignatureEvidence {
    pub fn from_registry(payload: Vec<u8>, signature: Vec<u8>) -> Self {
        Self {
            payload,
            signature,
            source: SignatureSource::Registry,
            recorded_at: None,
            key: None,
        }
    }

    pub fn from_signing_event(
        payload: Vec<u8>,
        signature: Vec<u8>,
        recorded_at: DateTime<Utc>,
        key: Option<KeyFingerprint>,
    ) -> Self {
        Self {
            payload,
            signature,
            source: SignatureSource::SigningEvent,
            recorded_at: Some(recorded_at),
            key,
        }
    }

    /// The evidence a stored signing event offers, if it carried its payload and signature.
    /// `recorded_at` is the time Trustwatch stored the event (the database's, not the signer's).
    pub fn from_stored_event(event: &SigningEvent, recorded_at: DateTime<Utc>) -> Option<Self> {
        Some(Self::from_signing_event(
            event.payload.clone()?,
            event.signature.clone()?,
            recorded_at,
            Some(event.key.clone()),
        ))
    }

    /// The recorded time, if it is one we trust.
    pub fn trusted_time(&self) -> Option<DateTime<Utc>> {
        match self.source {
            SignatureSource::SigningEvent => self.recorded_at,
            SignatureSource::Registry => None,
        }
    }
}

/// The verdict on one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// `admitted` when allowed; otherwise the most specific cause for the first failing
    /// enforce-mode policy.
    pub reason: ReasonCode,
    /// The strictest mode among the failing policies, `enforce` when none failed.
    pub mode: Mode,
    /// One or two plain sentences for the developer.
    pub summary: String,
    pub checks: Vec<Check>,
    pub warnings: Vec<String>,
    /// What to do about it, with exact commands.
    pub remediation: Vec<String>,
}

/// What a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// One policy that covers the image.
    Policy,
    /// The bundle's default, when no policy covers the image.
    DefaultAction,
    /// Whether the image's digest is known and, when a policy requires it, pinned.
    Digest,
    /// One key or key group that a policy counts.
    Authority,
    /// One signature, judged for one policy.
    Signature,
    /// The signature verifies under the key.
    Verification,
    /// The signed payload is a simple-signing document.
    Payload,
    /// The payload's digest is the image's digest.
    SignedDigest,
    /// The payload's identity against the policy's identity rule.
    Identity,
    /// The key's status: active, retiring, revoked, compromised.
    KeyStatus,
    /// The key's validity window.
    ValidityWindow,
    /// The policy's maximum signature age.
    SignatureAge,
    /// Where signatures were looked for, with one child per source.
    Sources,
    /// The image's registry: the tag resolved, the `.sig` artifact read.
    Registry,
    /// Signatures recorded by Trustwatch in signing events for the digest.
    SigningEvents,
}

/// One node of the tree of checks behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    /// What was checked, e.g. `policy prod-images`, `key ci-release`, `signature #2`.
    pub subject: String,
    pub passed: bool,
    /// Why it failed, for failed checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// For signature checks: where the signature came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SignatureSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Check>,
}

impl Check {
    pub fn pass(kind: CheckKind, subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.into(),
            passed: true,
            reason: None,
            detail: detail.into(),
            expected: None,
            found: None,
            source: None,
            children: Vec::new(),
        }
    }

    pub fn fail(
        kind: CheckKind,
        subject: impl Into<String>,
        reason: ReasonCode,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            passed: false,
            reason: Some(reason),
            ..Self::pass(kind, subject, detail)
        }
    }

    pub fn expecting(mut self, expected: impl Into<String>, found: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self.found = Some(found.into());
        self
    }

    pub fn from_source(mut self, source: SignatureSource) -> Self {
        self.source = Some(source);
        self
    }

    pub fn with_children(mut self, children: Vec<Check>) -> Self {
        self.children = children;
        self
    }

    /// Every check in this tree, depth first, this one first.
    pub fn walk(&self) -> Vec<&Check> {
        let mut all = vec![self];
        for c in &self.children {
            all.extend(c.walk());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_print_as_the_cli_shows_them() {
        let d = Decision {
            allowed: false,
            reason: ReasonCode::Unsigned,
            mode: Mode::Enforce,
            summary: "No signature.".into(),
            checks: vec![Check::fail(
                CheckKind::Policy,
                "policy p",
                ReasonCode::Unsigned,
                "no signature",
            )
            .from_source(SignatureSource::Registry)],
            warnings: vec![],
            remediation: vec!["trustwatch sign --key k reg.io/a@sha256:…".into()],
        };
        let json = serde_json::to_value(&d).unwrap();
        for field in [
            "allowed",
            "reason",
            "mode",
            "summary",
            "checks",
            "warnings",
            "remediation",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["reason"], "unsigned");
        assert_eq!(json["mode"], "enforce");
        assert_eq!(json["checks"][0]["kind"], "policy");
        assert_eq!(json["checks"][0]["source"], "registry");
        assert!(json["checks"][0].get("children").is_none());
        let again: Decision = serde_json::from_value(json).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn only_signing_events_carry_a_trusted_time() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut registry = SignatureEvidence::from_registry(vec![], vec![]);
        registry.recorded_at = Some(t);
        assert_eq!(registry.trusted_time(), None);
        let event = SignatureEvidence::from_signing_event(vec![], vec![], t, None);
        assert_eq!(event.trusted_time(), Some(t));
    }

    #[test]
    fn stored_signing_events_become_evidence_when_they_carry_a_signature() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut event = SigningEvent {
            id: uuid::Uuid::nil(),
            key: KeyFingerprint::of_spki_der(b"k"),
            image: ImageReference::parse("reg.io/a:1").unwrap(),
            digest: Digest::of(b"m"),
            signer_identity: "ci".into(),
            signer_host: None,
            payload: Some(b"p".to_vec()),
            signature: None,
            claimed_at: Some(t - chrono::TimeDelta::days(9)),
        };
        assert_eq!(SignatureEvidence::from_stored_event(&event, t), None);
        event.signature = Some(b"s".to_vec());
        let evidence = SignatureEvidence::from_stored_event(&event, t).unwrap();
        assert_eq!(
            evidence.trusted_time(),
            Some(t),
            "the recorded time, not the claimed one"
        );
        assert_eq!(evidence.key, Some(event.key.clone()));
        assert_eq!(evidence.source, SignatureSource::SigningEvent);
    }
}
