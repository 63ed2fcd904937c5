//! Kyverno `ClusterPolicy` (`kyverno.io/v1`) with one `verifyImages` rule.
//!
//! - Authorities: one attestor set whose `count` is the threshold. A key is an entry with
//!   `keys.publicKeys`; a group of several keys is a nested `attestor` with `count: 1` (any of
//!   its keys). Kyverno requires `count` entries of the set to verify.
//! - Mode: `enforce` → `failureAction: Enforce`; `warn` → `Audit` with `spec.emitWarning: true`
//!   (the request is admitted, the client gets a warning); `audit` → `Audit`.
//! - `requireDigest` → `verifyDigest: true` and `mutateDigest: false` (Kyverno would otherwise
//!   rewrite the tag to a digest first, and the check could never fail).
//! - Fail closed: Kyverno skips a `verifyImages` rule with no attestors at all — an empty list
//!   admits — so a policy without keys gets a keyless attestor no signature can satisfy (an
//!   issuer under `.invalid`, which cannot exist), and every covered image fails verification.

use serde_json::{json, Value};

use super::names::{kyverno_namespaces, kyverno_patterns, object_name};
use super::plan::{hash_algorithm, header, Plan};
use super::{document, ExportedDocument};
use crate::policy::Mode;
use crate::trust_bundle::TrustedKey;

pub(crate) const API_VERSION: &str = "kyverno.io/v1";
pub(crate) const KIND: &str = "ClusterPolicy";
const ENGINE: &str = "Kyverno";

/// The issuer of the attestor that nothing satisfies; `.invalid` is reserved (RFC 2606).
pub(crate) const NO_TRUSTED_KEY_ISSUER: &str = "https://no-trusted-key.invalid";

fn key_entry(key: &TrustedKey) -> Value {
    json!({
        "keys": {
            "publicKeys": key.public_key().to_pem(),
            "rekor": {"url": "https://rekor.sigstore.dev", "ignoreTlog": true},
            "ctlog": {"ignoreSCT": true},
        },
        "signatureAlgorithm": hash_algorithm(key),
    })
}

fn attestors(plan: &Plan<'_>) -> Value {
    if plan.fail_closed {
        return json!([{
            "count": 1,
            "entries": [{"keyless": {
                "issuer": NO_TRUSTED_KEY_ISSUER,
                "subject": "no-trusted-key",
                "rekor": {"url": "https://rekor.sigstore.dev"},
            }}],
        }]);
    }
    let entries: Vec<Value> = plan
        .authorities
        .iter()
        .map(|a| match a.keys.as_slice() {
            [one] => key_entry(one),
            keys => json!({"attestor": {
                "count": 1,
                "entries": keys.iter().map(|k| key_entry(k)).collect::<Vec<_>>(),
            }}),
        })
        .collect();
    json!([{"count": plan.threshold, "entries": entries}])
}

pub(crate) fn render(plan: &Plan<'_>) -> ExportedDocument {
    let policy = plan.policy;
    let name = object_name(policy.name(), "");
    let mut extra = Vec::new();
    let failure_action = match policy.mode() {
        Mode::Enforce => "Enforce",
        Mode::Warn => {
            extra.push(
                "Mode warn: failureAction Audit with emitWarning, so the request is admitted \
                 and the client is warned."
                    .to_owned(),
            );
            "Audit"
        }
        Mode::Audit => "Audit",
    };
    extra.push(
        "Image references: Kyverno's * also matches /, so this rule covers at least the \
         images Trustwatch's globs cover."
            .to_owned(),
    );
    let mut resources = json!({"kinds": ["Pod"]});
    if let Some(namespaces) = policy.namespaces() {
        resources["namespaces"] = json!(kyverno_namespaces(namespaces));
    }
    let image_references: Vec<String> = policy.images().iter().flat_map(kyverno_patterns).collect();
    // Registry trouble refuses in enforce mode, as Trustwatch's fail-closed default; a policy
    // that only warns or audits must never block.
    let failure_policy = if policy.mode() == Mode::Enforce {
        "Fail"
    } else {
        "Ignore"
    };
    let mut spec = json!({
        "background": false,
        // The spec-level fields are what Kyverno before 1.13 reads (it would prune the
        // rule-level ones and fall back to Audit); later versions prefer the rule's and the
        // webhookConfiguration's, which say the same.
        "validationFailureAction": failure_action,
        "failurePolicy": failure_policy,
        "webhookConfiguration": {"failurePolicy": failure_policy, "timeoutSeconds": 30},
        "rules": [{
            "name": "trustwatch-signatures",
            "match": {"any": [{"resources": resources}]},
            "verifyImages": [{
                "type": "Cosign",
                "imageReferences": image_references,
                "failureAction": failure_action,
                "mutateDigest": !policy.require_digest(),
                "verifyDigest": policy.require_digest(),
                "required": true,
                "attestors": attestors(plan),
            }],
        }],
    });
    if policy.mode() == Mode::Warn {
        spec["emitWarning"] = json!(true);
    }
    document(
        API_VERSION,
        KIND,
        name,
        policy.name(),
        plan.bundle_version,
        &[],
        spec,
        &header(plan, ENGINE, extra),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{export, ExportFormat};
    use serde_yaml::Value;

    fn document(s: &Scenario, policy: &str, without: &[crate::KeyFingerprint]) -> (String, Value) {
        let docs = export(
            &s.bundle,
            ExportFormat::KyvernoClusterPolicy,
            without,
            now(),
        );
        let doc = docs.into_iter().find(|d| d.policy == policy).unwrap();
        let value = parse(&doc.yaml);
        (doc.yaml, value)
    }

    fn verify_images(v: &Value) -> &Value {
        &v["spec"]["rules"][0]["verifyImages"][0]
    }

    #[test]
    fn two_of_three_with_a_group() {
        let s = Scenario::new();
        let (text, v) = document(&s, "two-of-three", &[]);
        assert_eq!(v["apiVersion"], "kyverno.io/v1");
        assert_eq!(v["kind"], "ClusterPolicy");
        assert_eq!(v["metadata"]["name"], "tw-two-of-three");
        let vi = verify_images(&v);
        assert_eq!(vi["failureAction"], "Enforce");
        assert_eq!(v["spec"]["validationFailureAction"], "Enforce");
        assert_eq!(v["spec"]["failurePolicy"], "Fail");
        assert_eq!(vi["verifyDigest"], true);
        assert_eq!(vi["mutateDigest"], false);
        assert_eq!(vi["required"], true);
        let refs: Vec<&str> = vi["imageReferences"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(refs.contains(&"reg.example.com/payments/*"));
        assert!(refs.contains(&"docker.io/nginx:*"));
        assert!(refs.contains(&"docker.io/library/nginx@*"));
        let set = &vi["attestors"][0];
        assert_eq!(set["count"], 2);
        let entries = set["entries"].as_sequence().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0]["keys"]["publicKeys"].as_str(),
            Some(s.pem("ci-release").as_str())
        );
        assert_eq!(
            entries[1]["keys"]["publicKeys"].as_str(),
            Some(s.pem("security-review").as_str())
        );
        let group = &entries[2]["attestor"];
        assert_eq!(group["count"], 1);
        assert_eq!(group["entries"][1]["signatureAlgorithm"], "sha384");
        assert_eq!(
            group["entries"][1]["keys"]["publicKeys"].as_str(),
            Some(s.pem("team-b").as_str())
        );
        let ns = &v["spec"]["rules"][0]["match"]["any"][0]["resources"]["namespaces"];
        assert_eq!(ns[0], "prod-*");
        assert!(
            text.contains("# Not expressible: identity rule repository."),
            "{text}"
        );
        assert!(
            text.contains("# Not expressible: maxSignatureAge 90d."),
            "{text}"
        );
    }

    #[test]
    fn the_compromised_key_is_gone_and_said_to_be() {
        let s = Scenario::new();
        let (text, v) = document(&s, "everything", &[s.fingerprint("security-review")]);
        let pems = pems_in(&text);
        for gone in ["security-review", "stolen", "old-revoked", "expired"] {
            assert!(!pems.contains(&s.pem(gone)), "{gone} is still trusted");
        }
        assert_eq!(
            pems,
            [s.pem("ci-release"), s.pem("team-a"), s.pem("team-b")]
        );
        assert!(text.contains("# Left out key security-review"));
        assert!(text.contains("# Left out key stolen"));
        let vi = verify_images(&v);
        assert_eq!(vi["failureAction"], "Audit");
        assert_eq!(v["spec"]["emitWarning"], true);
        assert_eq!(vi["imageReferences"][0], "*");
        assert_eq!(vi["attestors"][0]["count"], 1);
        assert_eq!(
            vi["attestors"][0]["entries"].as_sequence().unwrap().len(),
            2
        );
    }

    #[test]
    fn without_keys_it_refuses_instead_of_admitting() {
        let s = Scenario::new();
        let (text, v) = document(&s, "stolen-only", &[]);
        assert!(text.contains("# FAIL CLOSED"), "{text}");
        let attestors = verify_images(&v)["attestors"].as_sequence().unwrap();
        assert_eq!(attestors.len(), 1, "never an empty attestor list");
        let entry = &attestors[0]["entries"][0]["keyless"];
        assert_eq!(entry["issuer"], super::NO_TRUSTED_KEY_ISSUER);
        assert!(!text.contains("BEGIN PUBLIC KEY"));
    }
}
