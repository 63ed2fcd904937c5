//! sigstore policy-controller `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`).
//!
//! policy-controller admits an image when *every* `ClusterImagePolicy` whose globs match it has
//! *at least one* authority with a valid signature. So "any one of these keys" is one object,
//! and "k of n authorities" (authorities never share a key, see `plan`) is exactly: every set of
//! n − k + 1 authorities contains a satisfied one. That is one object per such set, C(n, k − 1)
//! of them, each listing the keys of its authorities: 1 of n is one object, n of n is one object
//! per authority. Past [`MAX_OBJECTS`] objects the export requires every authority instead (one
//! object each), which is stricter, and says so.
//!
//! - Mode: `enforce` → `mode: enforce`; `warn` → `mode: warn`; `audit` → `mode: warn` as well,
//!   since policy-controller has no silent mode (the deployer sees a warning; nothing is refused).
//! - Namespaces cannot be named: policy-controller checks every namespace labelled
//!   `policy.sigstore.dev/include=true`, so the document covers more namespaces, not fewer.
//! - `requireDigest` cannot be expressed (policy-controller resolves tags to digests itself).
//! - Fail closed: one authority `static: {action: fail}`, policy-controller's own way to refuse.

use serde_json::{json, Value};

use super::names::{object_name, policy_controller_globs};
use super::plan::{describe, hash_algorithm, header, Plan, PlannedAuthority};
use super::{document, ExportedDocument};
use crate::policy::Mode;

pub(crate) const API_VERSION: &str = "policy.sigstore.dev/v1beta1";
pub(crate) const KIND: &str = "ClusterImagePolicy";
const ENGINE: &str = "policy-controller";

/// More objects than this for one policy is unwieldy to review during an incident.
pub(crate) const MAX_OBJECTS: usize = 16;

fn binomial(n: usize, k: usize) -> usize {
    let k = k.min(n - k.min(n));
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// All subsets of `0..n` with `size` elements, in lexicographic order.
fn subsets(n: usize, size: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    fn walk(start: usize, n: usize, size: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == size {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            walk(i + 1, n, size, cur, out);
            cur.pop();
        }
    }
    walk(0, n, size, &mut current, &mut out);
    out
}

fn authorities_of(plan: &Plan<'_>, chosen: &[&PlannedAuthority<'_>]) -> Value {
    // Names are the key's position in the whole policy, so the same key has the same name in
    // every object of the policy.
    let position = |fingerprint| {
        plan.keys()
            .position(|k| k.fingerprint() == fingerprint)
            .map_or(0, |p| p + 1)
    };
    json!(chosen
        .iter()
        .flat_map(|a| a.keys.iter())
        .map(|key| json!({
            "name": format!("key{}", position(key.fingerprint())),
            "key": {
                "data": key.public_key().to_pem(),
                "hashAlgorithm": hash_algorithm(key),
            },
        }))
        .collect::<Vec<_>>())
}

pub(crate) fn render(plan: &Plan<'_>) -> Vec<ExportedDocument> {
    let policy = plan.policy;
    let mut extra = Vec::new();
    let mode = match policy.mode() {
        Mode::Enforce => "enforce",
        Mode::Warn => "warn",
        Mode::Audit => {
            extra.push(
                "Mode audit: policy-controller has no silent mode, so this is mode warn (the \
                 image is admitted and the deployer warned)."
                    .to_owned(),
            );
            "warn"
        }
    };
    if let Some(namespaces) = policy.namespaces() {
        let globs: Vec<&str> = namespaces.iter().map(|g| g.as_str()).collect();
        extra.push(format!(
            "Not expressible: namespaces {}. policy-controller checks every namespace labelled \
             policy.sigstore.dev/include=true, which is stricter where it covers more.",
            globs.join(", ")
        ));
    }
    if policy.require_digest() && !plan.fail_closed {
        extra.push(
            "Not expressible: requireDigest. policy-controller resolves tags to digests itself \
             and admits images deployed by tag, which is laxer than Trustwatch."
                .to_owned(),
        );
    }
    let images: Vec<Value> = policy
        .images()
        .iter()
        .flat_map(policy_controller_globs)
        .map(|glob| json!({"glob": glob}))
        .collect();

    let groups: Vec<(Value, String)> = if plan.fail_closed {
        vec![(
            json!([{"name": "no-trusted-key", "static": {
                "action": "fail",
                "message": format!(
                    "Trustwatch policy {} has no trusted key left: every image it covers is refused",
                    policy.name()
                ),
            }}]),
            "no key is trusted".to_owned(),
        )]
    } else {
        for (i, key) in plan.keys().enumerate() {
            extra.push(format!("Authority key{}: key {}.", i + 1, describe(key)));
        }
        let n = plan.authorities.len();
        let size = n - plan.threshold + 1;
        let sets = if binomial(n, size) <= MAX_OBJECTS {
            subsets(n, size)
        } else {
            extra.push(format!(
                "Stricter than Trustwatch: {} of {n} authorities would need {} objects; \
                 this export requires every authority instead.",
                plan.threshold,
                binomial(n, size)
            ));
            subsets(n, 1)
        };
        if sets.len() > 1 {
            extra.push(format!(
                "Threshold {} of {n}: policy-controller admits an image only when every \
                 ClusterImagePolicy below is satisfied, and each is satisfied by any one of its \
                 authorities; together they require {} of the {n} authorities.",
                plan.threshold,
                n - sets[0].len() + 1
            ));
        }
        sets.into_iter()
            .map(|set| {
                let chosen: Vec<&PlannedAuthority<'_>> =
                    set.iter().map(|&i| &plan.authorities[i]).collect();
                let labels: Vec<&str> = chosen.iter().map(|a| a.label.as_str()).collect();
                (
                    authorities_of(plan, &chosen),
                    format!("one of: {}", labels.join(", ")),
                )
            })
            .collect()
    };
    let comments = header(plan, ENGINE, extra);
    let count = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (authorities, requires))| {
            let suffix = if count == 1 {
                String::new()
            } else {
                format!("-{}", i + 1)
            };
            let name = object_name(policy.name(), &suffix);
            document(
                API_VERSION,
                KIND,
                name,
                policy.name(),
                plan.bundle_version,
                &[("trustwatch.dev/requires", requires)],
                json!({
                    "images": images,
                    "authorities": authorities,
                    "mode": mode,
                }),
                &comments,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{export, ExportFormat, ExportedDocument};
    use super::*;
    use crate::policy::Policy;

    fn documents(
        s: &Scenario,
        policy: &str,
        without: &[crate::KeyFingerprint],
    ) -> Vec<ExportedDocument> {
        export(&s.bundle, ExportFormat::PolicyController, without, now())
            .into_iter()
            .filter(|d| d.policy == policy)
            .collect()
    }

    fn key_pems(doc: &ExportedDocument) -> Vec<String> {
        let v = parse(&doc.yaml);
        v["spec"]["authorities"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a["key"]["data"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn counting_helpers() {
        assert_eq!(binomial(5, 2), 10);
        assert_eq!(binomial(3, 3), 1);
        assert_eq!(binomial(3, 0), 1);
        assert_eq!(subsets(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
    }

    #[test]
    fn two_of_three_is_every_pair() {
        let s = Scenario::new();
        let docs = documents(&s, "two-of-three", &[]);
        // 2 of 3: every set of 3 - 2 + 1 = 2 authorities must contain a satisfied one.
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].name, "tw-two-of-three-1");
        assert_eq!(docs[2].name, "tw-two-of-three-3");
        let (a, b, t) = (
            s.pem("ci-release"),
            s.pem("security-review"),
            s.pem("team-a"),
        );
        let tb = s.pem("team-b");
        assert_eq!(key_pems(&docs[0]), [a.clone(), b.clone()]);
        assert_eq!(key_pems(&docs[1]), [a, t.clone(), tb.clone()]);
        assert_eq!(key_pems(&docs[2]), [b, t, tb]);
        let v = parse(&docs[0].yaml);
        assert_eq!(v["apiVersion"], "policy.sigstore.dev/v1beta1");
        assert_eq!(v["kind"], "ClusterImagePolicy");
        assert_eq!(v["spec"]["mode"], "enforce");
        let globs: Vec<&str> = v["spec"]["images"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|g| g["glob"].as_str().unwrap())
            .collect();
        assert!(globs.contains(&"reg.example.com/payments/*"));
        assert!(globs.contains(&"index.docker.io/library/nginx*"));
        assert!(docs[0].yaml.contains("# Not expressible: requireDigest."));
        assert!(docs[0]
            .yaml
            .contains("# Not expressible: namespaces prod-*, payments."));
    }

    #[test]
    fn one_of_n_is_one_object_and_audit_becomes_warn() {
        let s = Scenario::new();
        let docs = documents(&s, "everything", &[]);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name, "tw-everything");
        assert_eq!(key_pems(&docs[0]).len(), 4); // ci-release, security-review, team-a, team-b
        assert!(!pems_in(&docs[0].yaml).contains(&s.pem("stolen")));
        let docs = documents(&s, "stolen-only", &[]);
        let v = parse(&docs[0].yaml);
        assert_eq!(v["spec"]["mode"], "warn");
    }

    #[test]
    fn without_keys_a_static_fail() {
        let s = Scenario::new();
        let docs = documents(&s, "stolen-only", &[]);
        assert_eq!(docs.len(), 1);
        let v = parse(&docs[0].yaml);
        let authorities = v["spec"]["authorities"].as_sequence().unwrap();
        assert_eq!(authorities.len(), 1);
        assert_eq!(authorities[0]["static"]["action"], "fail");
        assert!(docs[0].yaml.contains("# FAIL CLOSED"));
    }

    #[test]
    fn too_many_combinations_require_every_authority() {
        let keys: Vec<String> = ["ci-release", "security-review", "team-a", "team-b"]
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        // 2 of 4 would be C(4, 1) = 4 objects: fine. Build 3 of 4 and 2 of 4 to see both paths
        // stay within the limit, then check the fallback through MAX_OBJECTS directly.
        let p = Policy::from_yaml(&format!(
            "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: wide}}\nspec:\n  \
             images: ['reg.example.com/**']\n  authorities: {{threshold: 2, keys: [{}]}}\n",
            keys.join(", ")
        ))
        .unwrap();
        let s = Scenario::with_policies(vec![p]);
        let docs = documents(&s, "wide", &[]);
        assert_eq!(docs.len(), binomial(4, 3));
        assert!(binomial(12, 6) > MAX_OBJECTS);
    }

    /// The whole first object for one policy, byte for byte: a change to any line of the
    /// output shows here and must be deliberate.
    #[test]
    fn golden_overlapping() {
        let s = Scenario::new();
        let docs = documents(&s, "overlapping", &[]);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].yaml, GOLDEN_OVERLAPPING_1);
    }

    const GOLDEN_OVERLAPPING_1: &str = r#"# Exported by Trustwatch from policy overlapping (trust bundle version 42) for policy-controller. Export again rather than edit.
# Key team-a counts only for the first authority that lists it, not also for group both: Trustwatch counts one key for one authority.
# Not expressible: identity rule exact. policy-controller does not compare the identity a signature names (critical.identity.docker-reference) with the image; any valid signature over the digest counts here, which is laxer than Trustwatch.
# No transparency-log entry is required: Trustwatch does not consult Rekor either.
# Authority key1: key team-a (sha256:9e671b1ccded8566c7691e5664cfe788562ce946c216145f03e0b839df9301f2).
# Authority key2: key team-b (sha256:2001164f1bc6a1f566dfc72b67b636b21bec5e80162559b455ae2620f8d1209b).
# Threshold 2 of 2: policy-controller admits an image only when every ClusterImagePolicy below is satisfied, and each is satisfied by any one of its authorities; together they require 2 of the 2 authorities.
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  annotations:
    trustwatch.dev/bundle-version: '42'
    trustwatch.dev/policy: overlapping
    trustwatch.dev/requires: 'one of: key team-a'
  labels:
    app.kubernetes.io/managed-by: trustwatch
  name: tw-overlapping-1
spec:
  authorities:
  - key:
      data: |
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEAAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=
        -----END PUBLIC KEY-----
      hashAlgorithm: sha256
    name: key1
  images:
  - glob: reg.example.com/shared/*
  mode: enforce
"#;
}
