//! Bounded, deterministic cousins of the fuzz targets in `fuzz/`: mutated real messages and
//! random report-shaped documents never make the classifier or the report adapter panic.

use serde_json::{json, Value};

/// xorshift64*: a tiny deterministic generator, so a failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: prod-images: spec.containers[0].image\nreg.io/a@sha256:8b7a3e6f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f signature key validation failed: no signatures found",
    "admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource Pod/default/x was blocked due to the following policies \n\ncheck-image:\n  verify-image: 'failed to verify image ghcr.io/k/t:signed: .attestors[0].entries[0].keys: no matching signatures'",
    "admission webhook \"connaisseur-svc.connaisseur.svc\" denied the request: Unable to find signed digest for image docker.io/x/y:1.",
    "admission webhook \"validation.gatekeeper.sh\" denied the request: [ratify-constraint] Subject failed verification: reg.io/app@sha256:",
    "identity mismatch: expected reg.io/a, got reg.io/b",
    "none of the expected identities matched what was in the certificate, got subjects [x",
];

const PIECES: &[&str] = &[
    "sha256:",
    ": ",
    "[",
    "]",
    "'",
    "\"",
    "failed policy: ",
    "for image ",
    "é",
    "💥",
    "\n",
    "@",
    "failed to verify image ",
    "got subjects [",
    ", got ",
];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut s: Vec<char> = seed.chars().collect();
    for _ in 0..rng.below(8) {
        let at = rng.below(s.len() + 1);
        match rng.below(3) {
            0 if !s.is_empty() => {
                let end = (at + rng.below(20)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (i, c) in piece.chars().enumerate() {
                    s.insert((at + i).min(s.len()), c);
                }
            }
            _ => s.truncate(at),
        }
    }
    s.into_iter().collect()
}

#[test]
fn the_classifier_never_panics_on_mutated_messages() {
    let mut rng = Rng(0x7472_7573_7477_6174);
    for i in 0..20_000 {
        let text = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        let c = domain::classify::classify(&text);
        if let Some(d) = &c.digest {
            assert!(text.contains(d.as_str()), "{text:?}");
        }
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 4 } else { 6 }) {
        0 => Value::Null,
        1 => json!(rng.next() as i64),
        2 => json!(PIECES[rng.below(PIECES.len())]),
        3 => json!(SEEDS[rng.below(SEEDS.len())]),
        4 => Value::Array(
            (0..rng.below(3))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "kind",
                "apiVersion",
                "results",
                "scope",
                "metadata",
                "message",
                "result",
                "timestamp",
                "seconds",
                "nanos",
                "resources",
                "name",
                "namespace",
                "items",
            ];
            Value::Object(
                (0..rng.below(5))
                    .map(|_| {
                        (
                            keys[rng.below(keys.len())].to_string(),
                            random_value(rng, depth + 1),
                        )
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn the_report_adapter_never_panics_on_odd_documents() {
    let mut rng = Rng(0x0bad_5eed);
    let now = chrono::DateTime::from_timestamp(1_764_072_000, 0).unwrap();
    for _ in 0..5_000 {
        let mut result = serde_json::Map::new();
        for key in [
            "message",
            "result",
            "policy",
            "rule",
            "timestamp",
            "resources",
            "source",
        ] {
            if rng.below(4) > 0 {
                result.insert(key.into(), random_value(&mut rng, 1));
            }
        }
        if rng.below(2) == 0 {
            result.insert(
                "message".into(),
                json!(mutate(
                    &mut rng,
                    "failed to verify image reg.io/a:1: no signatures found"
                )),
            );
            result.insert(
                "result".into(),
                json!(["pass", "fail", "warn", "error", "skip"][rng.below(5)]),
            );
            result.insert(
                "timestamp".into(),
                json!({"seconds": rng.next() as i64, "nanos": rng.next()}),
            );
        }
        let api = ["wgpolicyk8s.io/v1alpha2", "openreports.io/v1alpha1", "v1"][rng.below(3)];
        let kind = ["PolicyReport", "ClusterPolicyReport", "Report", "List"][rng.below(4)];
        let doc = json!({
            "apiVersion": api,
            "kind": kind,
            "metadata": random_value(&mut rng, 1),
            "scope": random_value(&mut rng, 1),
            "results": [Value::Object(result)],
            "items": random_value(&mut rng, 1),
        });
        if let Ok(report) = domain::policy_report::events_from_reports(&doc, "fuzz-1", now) {
            for event in &report.events {
                let _ = event.validate(now, None);
            }
        }
    }
}

const PAYLOAD: &str = r#"{"critical":{"identity":{"docker-reference":"reg.io/team/app:v1"},"image":{"docker-manifest-digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"type":"cosign container image signature"},"optional":{"creator":"skopeo","timestamp":1700000000}}"#;

const POLICY: &str = "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {name: prod-images}\nspec:\n  images: [\"reg.io/payments/*\", \"reg.io/**\"]\n  clusters: [\"prod-*\"]\n  mode: warn\n  identity: exact\n  maxSignatureAge: 90d\n  authorities: {threshold: 2, keys: [a, b], groups: [team]}\n---\napiVersion: trustwatch.dev/v1\nkind: KeyGroup\nmetadata: {name: team}\nspec: {keys: [c]}\n";

const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWRLl3+qSx7I/ijz2eHIOSEQJ3DzP\nl8D0YRXJD6CyHqlZxeI7AO2B8BMuTQrp2IUMY8ecs5nNT5Nn8KsN5GBo1A==\n-----END PUBLIC KEY-----\n";

#[test]
fn signature_inputs_never_panic_the_parsers() {
    let mut rng = Rng(0x5167_6e61_7475_7265);
    for _ in 0..5_000 {
        let payload = mutate(&mut rng, PAYLOAD);
        if let Ok(p) = domain::simple_signing::SimpleSigningPayload::parse(payload.as_bytes()) {
            // Whatever parses names a valid reference and digest.
            assert!(domain::ImageReference::parse(p.docker_reference()).is_ok());
            assert!(domain::Digest::parse(p.manifest_digest().as_str()).is_ok());
        }
        let _ = domain::policy::parse_documents(&mutate(&mut rng, POLICY));
        let _ = domain::PublicKey::parse_pem(&mutate(&mut rng, PEM));
    }
}

const REVIEW: &str = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"batch","version":"v1","kind":"CronJob"},"name":"nightly","namespace":"data","operation":"CREATE","object":{"metadata":{"name":"nightly"},"spec":{"schedule":"0 1 * * *","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"etl","image":"reg.io/data/etl:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}],"initContainers":[{"name":"wait","image":"busybox"}]}}}}}},"dryRun":false}}"#;

#[test]
fn admission_reviews_never_panic_the_parser() {
    let mut rng = Rng(0x6164_6d69_7373_696f);
    for _ in 0..10_000 {
        let body = mutate(&mut rng, REVIEW);
        if let Ok(review) = domain::admission_review::ReviewRequest::parse(body.as_bytes()) {
            assert!(!review.uid().is_empty());
            let mut answer = domain::admission_review::ReviewResponse::allow(review.uid());
            if let Some(spec) = review.pod_spec() {
                for c in spec.containers() {
                    answer.warn(c.image());
                }
                let _ = spec.distinct_images();
            }
            let _ = answer.to_json();
        }
    }
}
