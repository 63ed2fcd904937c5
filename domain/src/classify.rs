//! Classifying other engines' admission messages into Trustwatch's reason codes.
//!
//! Each engine words its refusals its own way. This module reads the text a cluster hands back
//! (a denial or a warning) and extracts what it can: the engine, the policy, the image and digest,
//! and the one reason code that fits. Anything it does not recognise stays `unclassified`, with
//! the raw text kept by the caller; a guess would be worse than an honest "don't know".

use serde::{Deserialize, Serialize};

use crate::{Engine, ReasonCode};

/// What could be read out of one admission message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub engine: Option<Engine>,
    pub reason: ReasonCode,
    pub policy: Option<String>,
    pub image: Option<String>,
    pub digest: Option<String>,
    /// For `identity_mismatch`: what the policy expected, and what the signature carried.
    pub expected_identity: Option<String>,
    pub actual_identity: Option<String>,
    /// Whether the text was a warning (admitted in warn mode) rather than a denial.
    pub warning: bool,
}

/// Classifies one admission message. Never panics, whatever the input.
pub fn classify(message: &str) -> Classification {
    let engine = detect_engine(message);
    let lower = message.to_lowercase();
    let (expected_identity, actual_identity) = identities(message);
    let reason = if expected_identity.is_some() || actual_identity.is_some() {
        ReasonCode::IdentityMismatch
    } else {
        reason_from_text(&lower)
    };
    Classification {
        engine,
        reason,
        policy: engine.and_then(|e| policy(message, e)),
        image: engine.and_then(|e| image(message, e)),
        digest: find_digest(message),
        expected_identity,
        actual_identity,
        warning: lower.trim_start().starts_with("warning") && !lower.contains("denied the request"),
    }
}

fn detect_engine(m: &str) -> Option<Engine> {
    let l = m.to_lowercase();
    if l.contains("policy.sigstore.dev") || l.contains("failed policy:") {
        Some(Engine::PolicyController)
    } else if l.contains("kyverno") || l.contains("was blocked due to the following policies") {
        Some(Engine::Kyverno)
    } else if l.contains("connaisseur") {
        Some(Engine::Connaisseur)
    } else if l.contains("ratify") || l.contains("gatekeeper") {
        Some(Engine::Ratify)
    } else if l.contains("kubewarden") {
        Some(Engine::Kubewarden)
    } else {
        None
    }
}

/// The order matters: the most specific phrases are tried first.
fn reason_from_text(l: &str) -> ReasonCode {
    const REGISTRY: &[&str] = &[
        "i/o timeout",
        "context deadline exceeded",
        "connection refused",
        "no such host",
        "tls handshake timeout",
        "unexpected status code",
        "manifest_unknown",
        "manifest unknown",
        "unauthorized: authentication required",
        "failed to fetch",
        "error fetching",
        "could not fetch",
        "timed out",
        "timeout",
        "service unavailable",
        "system error calling external data provider",
    ];
    const DIGEST: &[&str] = &[
        "must be an image digest",
        "must be a digest",
        "missing digest",
        "not a digest",
        "digest required",
        "image reference must be a digest",
        "is not pinned to a digest",
    ];
    const INVALID: &[&str] = &[
        "invalid signature",
        "signature verification failed",
        "verification error",
        "failed to verify signature",
        "crypto/ecdsa",
        "no matching signatures",
    ];
    const UNSIGNED: &[&str] = &[
        "no signatures found",
        "no signature found",
        "unable to find signed digest",
        "no trust data",
        "is not signed",
        "image not signed",
        "signature not found",
        "no referrers",
    ];
    let any = |needles: &[&str]| needles.iter().any(|n| l.contains(n));
    if any(DIGEST) {
        ReasonCode::DigestRequired
    } else if any(UNSIGNED) {
        ReasonCode::Unsigned
    } else if any(INVALID) {
        ReasonCode::SignatureInvalid
    } else if any(REGISTRY) {
        ReasonCode::RegistryUnreachable
    } else if l.contains("no matching policy")
        || l.contains("no matching rule")
        || l.contains("unable to find a matching rule")
    {
        ReasonCode::NoMatchingPolicy
    } else if l.contains("threshold") && l.contains("signature") {
        ReasonCode::ThresholdNotMet
    } else {
        ReasonCode::Unclassified
    }
}

/// `… expected identities … got subjects [X]` (policy-controller keyless) or
/// `identity mismatch: expected X, got Y` (Trustwatch's own shape).
fn identities(m: &str) -> (Option<String>, Option<String>) {
    let l = m.to_lowercase();
    if let Some(i) = l.find("identity mismatch: expected ") {
        let rest = &m[i + "identity mismatch: expected ".len()..];
        if let Some((expected, actual)) = rest.split_once(", got ") {
            return (Some(clean(expected)), Some(clean(first_token(actual))));
        }
    }
    if l.contains("none of the expected identities matched") {
        let actual = l
            .find("got subjects [")
            .map(|i| &m[i + "got subjects [".len()..])
            .and_then(|rest| rest.split(']').next())
            .map(clean);
        return (Some("a trusted identity".into()), actual);
    }
    (None, None)
}

fn policy(m: &str, engine: Engine) -> Option<String> {
    match engine {
        Engine::PolicyController => {
            after(m, "failed policy: ").map(|s| clean(s.split(':').next().unwrap_or(s)))
        }
        Engine::Kyverno => {
            // The policy names follow "blocked due to the following policies", each as "name:".
            let rest = after(m, "blocked due to the following policies")?;
            rest.lines()
                .map(str::trim)
                .find(|line| line.ends_with(':') && !line.contains(' '))
                .map(|line| line.trim_end_matches(':').to_owned())
        }
        Engine::Ratify => {
            let rest = after(m, "[")?;
            rest.split(']').next().map(clean)
        }
        Engine::Kubewarden => after(m, "admission webhook \"")
            .and_then(|rest| rest.split('"').next())
            .map(|s| clean(s.split('.').next().unwrap_or(s))),
        Engine::Connaisseur | Engine::Trustwatch => None,
    }
}

fn image(m: &str, engine: Engine) -> Option<String> {
    let raw = match engine {
        Engine::Kyverno => after(m, "failed to verify image ").map(up_to_colon_space),
        Engine::PolicyController => {
            // The image is the first token that holds a digest, else the one after "image\n".
            m.split_whitespace()
                .find(|t| t.contains("@sha256:"))
                .map(|t| t.trim_end_matches(':'))
        }
        Engine::Connaisseur => after(m, "for image ").map(first_token),
        Engine::Ratify => after(m, "Subject failed verification: ").map(first_token),
        Engine::Kubewarden => after(m, "verification of image ").map(first_token),
        Engine::Trustwatch => None,
    }?;
    let image = raw.trim().trim_end_matches(['.', ',', ':', '\'']);
    (!image.is_empty() && image.len() <= 1024).then(|| image.to_owned())
}

fn find_digest(m: &str) -> Option<String> {
    let bytes = m.as_bytes();
    let mut start = 0;
    while let Some(i) = m[start..].find("sha256:") {
        let at = start + i + "sha256:".len();
        let hex: &[u8] = bytes.get(at..at + 64).unwrap_or_default();
        if hex.len() == 64 && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            let after = bytes.get(at + 64);
            if !after.is_some_and(|b| b.is_ascii_hexdigit()) {
                return Some(format!("sha256:{}", String::from_utf8_lossy(hex)));
            }
        }
        start = at;
    }
    None
}

fn after<'a>(m: &'a str, needle: &str) -> Option<&'a str> {
    m.find(needle).map(|i| &m[i + needle.len()..])
}

fn first_token(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or_default()
}

/// An image with a tag contains ':', so "image: reason" is split at the first ": ".
fn up_to_colon_space(s: &str) -> &str {
    s.split(": ").next().unwrap_or(s)
}

fn clean(s: &str) -> String {
    s.trim().trim_matches(['\'', '"', '.', ',']).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:8b7a3e6f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f";

    struct Case {
        message: String,
        engine: Option<Engine>,
        reason: ReasonCode,
        policy: Option<&'static str>,
        image: Option<&'static str>,
        digest: bool,
    }

    fn check(cases: &[Case]) {
        for c in cases {
            let got = classify(&c.message);
            assert_eq!(got.engine, c.engine, "engine of {:?}", c.message);
            assert_eq!(got.reason, c.reason, "reason of {:?}", c.message);
            assert_eq!(got.policy.as_deref(), c.policy, "policy of {:?}", c.message);
            assert_eq!(got.image.as_deref(), c.image, "image of {:?}", c.message);
            assert_eq!(got.digest.is_some(), c.digest, "digest of {:?}", c.message);
        }
    }

    #[test]
    fn policy_controller() {
        check(&[
            Case {
                message: format!("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: prod-images: spec.containers[0].image\nregistry.example.com/payments/api@{D} signature key validation failed for authority authority-0 for registry.example.com/payments/api@{D}: no signatures found"),
                engine: Some(Engine::PolicyController),
                reason: ReasonCode::Unsigned,
                policy: Some("prod-images"),
                image: Some("registry.example.com/payments/api@sha256:8b7a3e6f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"),
                digest: true,
            },
            Case {
                message: format!("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: prod-images: spec.template.spec.containers[0].image\nreg.io/a@{D} signature key validation failed for authority authority-0 for reg.io/a@{D}: no matching signatures:\ninvalid signature when validating ASN.1 encoded signature"),
                engine: Some(Engine::PolicyController),
                reason: ReasonCode::SignatureInvalid,
                policy: Some("prod-images"),
                image: Some("reg.io/a@sha256:8b7a3e6f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"),
                digest: true,
            },
            Case {
                message: "admission webhook \"policy.sigstore.dev\" denied the request: validation failed: invalid value: nginx must be an image digest: spec.containers[0].image".into(),
                engine: Some(Engine::PolicyController),
                reason: ReasonCode::DigestRequired,
                policy: None,
                image: None,
                digest: false,
            },
            Case {
                message: format!("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: keyless: spec.containers[0].image\nreg.io/a@{D} signature keyless validation failed for authority authority-0 for reg.io/a@{D}: GET https://reg.io/v2/a/manifests/sha256-x.sig: dial tcp 10.0.0.1:443: i/o timeout"),
                engine: Some(Engine::PolicyController),
                reason: ReasonCode::RegistryUnreachable,
                policy: Some("keyless"),
                image: Some("reg.io/a@sha256:8b7a3e6f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"),
                digest: true,
            },
        ]);
        let c = classify(&format!("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: keyless: spec.containers[0].image\nreg.io/a@{D} signature keyless validation failed for authority authority-0 for reg.io/a@{D}: no matching signatures:\nnone of the expected identities matched what was in the certificate, got subjects [https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main] with issuer https://token.actions.githubusercontent.com"));
        assert_eq!(c.reason, ReasonCode::IdentityMismatch);
        assert_eq!(
            c.actual_identity.as_deref(),
            Some("https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main")
        );
    }

    #[test]
    fn kyverno() {
        check(&[
            Case {
                message: "admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource Pod/default/test was blocked due to the following policies \n\ncheck-image:\n  verify-image: 'failed to verify image ghcr.io/kyverno/test-verify-image:signed: .attestors[0].entries[0].keys: no matching signatures:\n\ninvalid signature when validating ASN.1 encoded signature'".into(),
                engine: Some(Engine::Kyverno),
                reason: ReasonCode::SignatureInvalid,
                policy: Some("check-image"),
                image: Some("ghcr.io/kyverno/test-verify-image:signed"),
                digest: false,
            },
            Case {
                message: "admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource Deployment/payments/api was blocked due to the following policies \n\nrequire-signed:\n  verify-signature: 'failed to verify image registry.example.com/payments/api:1.4.2: .attestors[0].entries[0].keys: no signatures found'".into(),
                engine: Some(Engine::Kyverno),
                reason: ReasonCode::Unsigned,
                policy: Some("require-signed"),
                image: Some("registry.example.com/payments/api:1.4.2"),
                digest: false,
            },
            Case {
                message: "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource Pod/default/x was blocked due to the following policies \n\nverify-digest:\n  check-digest: 'missing digest for registry.example.com/web/frontend:2.0.1'".into(),
                engine: Some(Engine::Kyverno),
                reason: ReasonCode::DigestRequired,
                policy: Some("verify-digest"),
                image: None,
                digest: false,
            },
        ]);
    }

    #[test]
    fn connaisseur_ratify_kubewarden() {
        check(&[
            Case {
                message: "admission webhook \"connaisseur-svc.connaisseur.svc\" denied the request: Unable to find signed digest for image docker.io/securesystemsengineering/testimage:unsigned.".into(),
                engine: Some(Engine::Connaisseur),
                reason: ReasonCode::Unsigned,
                policy: None,
                image: Some("docker.io/securesystemsengineering/testimage:unsigned"),
                digest: false,
            },
            Case {
                message: "admission webhook \"connaisseur-svc.connaisseur.svc\" denied the request: Failed to verify signature of trust data for image docker.io/x/y:1.".into(),
                engine: Some(Engine::Connaisseur),
                reason: ReasonCode::SignatureInvalid,
                policy: None,
                image: Some("docker.io/x/y:1"),
                digest: false,
            },
            Case {
                message: format!("admission webhook \"validation.gatekeeper.sh\" denied the request: [ratify-constraint] Subject failed verification: reg.io/app@{D}"),
                engine: Some(Engine::Ratify),
                reason: ReasonCode::Unclassified,
                policy: Some("ratify-constraint"),
                image: Some("reg.io/app@sha256:8b7a3e6f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"),
                digest: true,
            },
            Case {
                message: "admission webhook \"clusterwide-verify-image-signatures.kubewarden.admission\" denied the request: Resource api is not accepted: verification of image ghcr.io/org/api:1.0 failed: Host error: Callback evaluation failure: no signatures found".into(),
                engine: Some(Engine::Kubewarden),
                reason: ReasonCode::Unsigned,
                policy: Some("clusterwide-verify-image-signatures"),
                image: Some("ghcr.io/org/api:1.0"),
                digest: false,
            },
        ]);
    }

    #[test]
    fn unknown_text_stays_unclassified() {
        let c = classify("the cluster is having a bad day");
        assert_eq!(c.engine, None);
        assert_eq!(c.reason, ReasonCode::Unclassified);
        let c = classify("");
        assert_eq!(c.reason, ReasonCode::Unclassified);
    }

    #[test]
    fn never_panics_on_awkward_text() {
        for m in [
            "sha256:",
            "failed policy: ",
            "[",
            "é sha256:ééé",
            "failed to verify image ",
            "for image ",
            "identity mismatch: expected , got ",
        ] {
            let _ = classify(m);
        }
        let long_hex = format!("sha256:{}", "a".repeat(65));
        assert_eq!(classify(&long_hex).digest, None);
    }
}
