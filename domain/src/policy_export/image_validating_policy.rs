//! Kyverno `ImageValidatingPolicy` (`policies.kyverno.io/v1`; a cluster that serves only
//! `v1beta1` takes the same spec under that `apiVersion`, early `v1alpha1` releases used other
//! field names).
//!
//! - Every key is one attestor (`key1`, `key2`, … — CEL identifiers; the header maps them to
//!   key names). `verifyImageSignatures(image, [attestors…])` returns how many of the listed
//!   attestors verify, so an authority is `verifyImageSignatures(image, [its keys]) > 0`, and the
//!   threshold is the sum of satisfied authorities, exact for any k of n.
//! - Kyverno hands the validation only the images that match `matchImageReferences`, grouped by
//!   kind of container in the map `images`; the expression checks every group.
//! - Mode: `enforce` → `validationActions: [Deny]`, `warn` → `[Warn, Audit]`, `audit` → `[Audit]`.
//! - `requireDigest` → `validationConfigurations.verifyDigest: true`, `mutateDigest: false`.
//! - Namespaces: a match condition on `request.namespace` (a regular expression from the globs).
//! - Fail closed: a validation that is false whenever a covered image is present; the one
//!   attestor the spec needs is keyless with an issuer that cannot exist.

use serde_json::{json, Value};

use super::kyverno::NO_TRUSTED_KEY_ISSUER;
use super::names::{kyverno_patterns, namespace_regex, object_name};
use super::plan::{describe, hash_algorithm, header, Plan};
use super::{document, ExportedDocument};
use crate::policy::Mode;

pub(crate) const API_VERSION: &str = "policies.kyverno.io/v1";
pub(crate) const KIND: &str = "ImageValidatingPolicy";
const ENGINE: &str = "Kyverno (ImageValidatingPolicy)";

/// The CEL condition that at least `threshold` authorities have a verifying key, for `image`.
fn threshold_expression(plan: &Plan<'_>) -> String {
    let mut index = 0;
    let terms: Vec<String> = plan
        .authorities
        .iter()
        .map(|a| {
            let attestors: Vec<String> = a
                .keys
                .iter()
                .map(|_| {
                    index += 1;
                    format!("attestors.key{index}")
                })
                .collect();
            format!(
                "(verifyImageSignatures(image, [{}]) > 0 ? 1 : 0)",
                attestors.join(", ")
            )
        })
        .collect();
    format!(
        "images.all(group, images[group].all(image, {} >= {}))",
        terms.join(" + "),
        plan.threshold
    )
}

pub(crate) fn render(plan: &Plan<'_>) -> ExportedDocument {
    let policy = plan.policy;
    let name = object_name(policy.name(), "");
    let mut extra = Vec::new();
    let actions = match policy.mode() {
        Mode::Enforce => json!(["Deny"]),
        Mode::Warn => json!(["Warn", "Audit"]),
        Mode::Audit => json!(["Audit"]),
    };
    let (attestors, validation) = if plan.fail_closed {
        (
            json!([{"name": "nobody", "cosign": {"keyless": {"identities": [
                {"issuer": NO_TRUSTED_KEY_ISSUER, "subject": "no-trusted-key"}
            ]}}}]),
            json!({
                "expression": "images.all(group, images[group].size() == 0)",
                "message": format!(
                    "Trustwatch policy {} has no trusted key left: every image it covers is refused",
                    policy.name()
                ),
            }),
        )
    } else {
        let attestors: Vec<Value> = plan
            .keys()
            .enumerate()
            .map(|(i, key)| {
                extra.push(format!("Attestor key{}: key {}.", i + 1, describe(key)));
                json!({
                    "name": format!("key{}", i + 1),
                    "cosign": {
                        "key": {
                            "data": key.public_key().to_pem(),
                            "hashAlgorithm": hash_algorithm(key),
                        },
                        "ctlog": {"insecureIgnoreTlog": true, "insecureIgnoreSCT": true},
                    },
                })
            })
            .collect();
        let labels: Vec<&str> = plan.authorities.iter().map(|a| a.label.as_str()).collect();
        (
            json!(attestors),
            json!({
                "expression": threshold_expression(plan),
                "message": format!(
                    "Trustwatch policy {} needs signatures from {} of: {}",
                    policy.name(),
                    plan.threshold,
                    labels.join(", ")
                ),
            }),
        )
    };
    let mut spec = json!({
        "validationActions": actions,
        "failurePolicy": if policy.mode() == Mode::Enforce { "Fail" } else { "Ignore" },
        "webhookConfiguration": {"timeoutSeconds": 30},
        "evaluation": {"background": {"enabled": false}},
        "matchConstraints": {"resourceRules": [{
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["pods"],
        }]},
        "matchImageReferences": policy
            .images()
            .iter()
            .flat_map(kyverno_patterns)
            .map(|glob| json!({"glob": glob}))
            .collect::<Vec<_>>(),
        "validationConfigurations": {
            "mutateDigest": !policy.require_digest(),
            "verifyDigest": policy.require_digest(),
            "required": true,
        },
        "attestors": attestors,
        "validations": [validation],
    });
    if let Some(namespaces) = policy.namespaces() {
        spec["matchConditions"] = json!([{
            "name": "trustwatch-namespaces",
            "expression": format!("request.namespace.matches('{}')", namespace_regex(namespaces)),
        }]);
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
            ExportFormat::KyvernoImageValidatingPolicy,
            without,
            now(),
        );
        let doc = docs.into_iter().find(|d| d.policy == policy).unwrap();
        let value = parse(&doc.yaml);
        (doc.yaml, value)
    }

    #[test]
    fn threshold_is_a_sum_of_satisfied_authorities() {
        let s = Scenario::new();
        let (text, v) = document(&s, "two-of-three", &[]);
        assert_eq!(v["apiVersion"], "policies.kyverno.io/v1");
        assert_eq!(v["kind"], "ImageValidatingPolicy");
        assert_eq!(v["spec"]["validationActions"][0], "Deny");
        assert_eq!(v["spec"]["validationConfigurations"]["verifyDigest"], true);
        let attestors = v["spec"]["attestors"].as_sequence().unwrap();
        assert_eq!(attestors.len(), 4);
        assert_eq!(attestors[0]["name"], "key1");
        assert_eq!(
            attestors[0]["cosign"]["key"]["data"].as_str(),
            Some(s.pem("ci-release").as_str())
        );
        assert_eq!(attestors[3]["cosign"]["key"]["hashAlgorithm"], "sha384");
        assert_eq!(
            v["spec"]["validations"][0]["expression"],
            "images.all(group, images[group].all(image, \
             (verifyImageSignatures(image, [attestors.key1]) > 0 ? 1 : 0) + \
             (verifyImageSignatures(image, [attestors.key2]) > 0 ? 1 : 0) + \
             (verifyImageSignatures(image, [attestors.key3, attestors.key4]) > 0 ? 1 : 0) >= 2))"
        );
        assert_eq!(
            v["spec"]["matchConditions"][0]["expression"],
            "request.namespace.matches('^(?:prod-.*|payments)$')"
        );
        assert!(text.contains("# Attestor key3: key team-a"), "{text}");
    }

    #[test]
    fn modes_map_to_validation_actions() {
        let s = Scenario::new();
        let (_, warn) = document(&s, "everything", &[]);
        assert_eq!(warn["spec"]["validationActions"][0], "Warn");
        assert_eq!(warn["spec"]["validationActions"][1], "Audit");
        let (_, audit) = document(&s, "stolen-only", &[]);
        assert_eq!(audit["spec"]["validationActions"][0], "Audit");
    }

    #[test]
    fn without_keys_it_refuses() {
        let s = Scenario::new();
        let (text, v) = document(
            &s,
            "overlapping",
            &[s.fingerprint("team-a"), s.fingerprint("team-b")],
        );
        assert!(text.contains("# FAIL CLOSED"), "{text}");
        assert!(!text.contains("BEGIN PUBLIC KEY"));
        assert_eq!(
            v["spec"]["validations"][0]["expression"],
            "images.all(group, images[group].size() == 0)"
        );
        assert_eq!(v["spec"]["attestors"].as_sequence().unwrap().len(), 1);
    }
}
