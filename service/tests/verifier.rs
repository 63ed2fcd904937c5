//! The verifier against a real database, with a registry that cannot be reached: signing events
//! as the second source, the failure policies, the default action's short cut, the cache of
//! verified triples, and verdicts stored through the recorder. (The registry-side paths run
//! against a real `docker-registry` in the server's admission tests.)
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::{
    AdmissionRequest, CheckKind, DefaultAction, Digest, ImageReference, KeyStatus, Outcome, Policy,
    ReasonCode, SignatureSource, SigningEvent, TrustBundle, TrustBundleContents, TrustedKey,
    TrustedKeyRecord,
};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use service::registry::{RegistryClient, RegistryConfig};
use service::verifier::{
    DecisionRecorder, FailurePolicy, RecorderConfig, Verifier, VerifierConfig,
};
use sqlx::PgPool;

/// Nothing listens on port 9 of localhost: connections are refused at once.
const DEAD_REGISTRY: &str = "127.0.0.1:9";

struct Signer {
    key: p256::ecdsa::SigningKey,
    pem: String,
}

impl Signer {
    fn new(seed: u8) -> Self {
        let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        Self { key, pem }
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let s: p256::ecdsa::Signature = self.key.sign(payload);
        s.to_der().as_bytes().to_vec()
    }

    fn public(&self) -> domain::PublicKey {
        domain::PublicKey::parse_pem(&self.pem).unwrap()
    }

    fn trusted(&self, name: &str, edit: impl FnOnce(&mut TrustedKeyRecord)) -> TrustedKey {
        let public = self.public();
        let mut record = TrustedKeyRecord {
            name: name.into(),
            fingerprint: public.fingerprint().clone(),
            algorithm: public.algorithm(),
            public_key_pem: self.pem.clone(),
            owner_team: "payments".into(),
            status: KeyStatus::Active,
            valid_from: DateTime::from_timestamp(1_600_000_000, 0).unwrap(),
            valid_until: None,
            compromised_since: None,
            revoked_at: None,
        };
        edit(&mut record);
        TrustedKey::from_record(&record).unwrap()
    }
}

fn bundle(keys: Vec<TrustedKey>, default_action: DefaultAction) -> TrustBundle {
    let policy = Policy::from_yaml(&format!(
        "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: prod-images}}\n\
         spec:\n  images: [\"{DEAD_REGISTRY}/payments/*\"]\n  authorities: {{keys: [ci-release]}}\n"
    ))
    .unwrap();
    let now = Utc::now();
    TrustBundle::new(TrustBundleContents {
        version: 7,
        issued_at: now - TimeDelta::hours(1),
        expires_at: now + TimeDelta::days(1),
        keys,
        key_groups: vec![],
        policies: vec![policy],
        default_action,
    })
    .unwrap()
}

fn verifier(policy: FailurePolicy) -> Verifier {
    let registry = RegistryClient::new(
        RegistryConfig {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            ..RegistryConfig::default()
        }
        .allowing_http(DEAD_REGISTRY),
    )
    .unwrap();
    Verifier::new(
        registry,
        VerifierConfig {
            failure_policy: policy,
            evidence_ttl: Duration::ZERO,
            ..VerifierConfig::default()
        },
    )
}

fn pinned(repository: &str) -> (ImageReference, Digest) {
    let digest = Digest::of(repository.as_bytes());
    let image =
        ImageReference::parse(&format!("{DEAD_REGISTRY}/{repository}:1.0@{digest}")).unwrap();
    (image, digest)
}

fn request(image: &ImageReference) -> AdmissionRequest {
    AdmissionRequest {
        image: image.clone(),
        digest: None,
        cluster: "prod-eu-1".into(),
        namespace: "payments".into(),
    }
}

async fn record_signature(
    pool: &PgPool,
    signer: &Signer,
    image: &ImageReference,
    digest: &Digest,
    recorded_at: DateTime<Utc>,
) {
    let payload = domain::simple_signing::cosign_payload(image, digest);
    let event = SigningEvent {
        id: uuid::Uuid::now_v7(),
        key: signer.public().fingerprint().clone(),
        image: image.clone(),
        digest: digest.clone(),
        signer_identity: "ci/release".into(),
        signer_host: None,
        signature: Some(signer.sign(&payload)),
        payload: Some(payload),
        claimed_at: None,
    };
    service::ingest::record_signing_events(pool, &[event], recorded_at)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn recorded_signatures_decide_when_the_registry_is_down(pool: PgPool) {
    let ci = Signer::new(1);
    let b = bundle(vec![ci.trusted("ci-release", |_| {})], DefaultAction::Deny);
    let (image, digest) = pinned("payments/api");
    record_signature(&pool, &ci, &image, &digest, Utc::now()).await;

    for policy in [FailurePolicy::Fail, FailurePolicy::Ignore] {
        let v = verifier(policy);
        let verdict = v.decide(&pool, &b, request(&image), Utc::now()).await;
        assert!(verdict.decision.allowed, "{:#?}", verdict.decision);
        assert_eq!(verdict.outcome, Outcome::Admitted);
        assert_eq!(verdict.decision.reason, ReasonCode::Admitted);
        assert!(verdict.registry_error.is_some());
        assert_eq!(verdict.failure_policy_applied, None);
        assert_eq!(
            verdict.signatures[0].sources,
            [SignatureSource::SigningEvent]
        );
        assert_eq!(
            verdict.signatures[0].verified_under.as_ref(),
            Some(ci.public().fingerprint())
        );
        assert_eq!(verdict.keys, [ci.public().fingerprint().clone()]);
        assert_eq!(verdict.policies, ["prod-images"]);
        assert!(
            verdict
                .decision
                .warnings
                .iter()
                .any(|w| w.contains("decided on 1 signature recorded by Trustwatch")),
            "{:?}",
            verdict.decision.warnings
        );
        // The sources check comes first and says what happened.
        let sources = &verdict.decision.checks[0];
        assert_eq!(sources.kind, CheckKind::Sources);
        assert!(!sources.passed);
        assert_eq!(sources.children[0].kind, CheckKind::Registry);
        assert_eq!(
            sources.children[0].reason,
            Some(ReasonCode::RegistryUnreachable)
        );
        assert!(sources.children[1].detail.contains("1 signature recorded"));
        // The signature's own check names its source.
        let json = serde_json::to_string(&verdict.decision.checks).unwrap();
        assert!(json.contains("\"source\":\"signing_event\""), "{json}");
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_failure_policy_settles_what_the_recorded_signatures_do_not(pool: PgPool) {
    let ci = Signer::new(1);
    let b = bundle(vec![ci.trusted("ci-release", |_| {})], DefaultAction::Deny);
    let (image, _) = pinned("payments/unsigned");

    let refused = verifier(FailurePolicy::Fail)
        .decide(&pool, &b, request(&image), Utc::now())
        .await;
    assert!(!refused.decision.allowed);
    assert_eq!(refused.decision.reason, ReasonCode::RegistryUnreachable);
    assert_eq!(refused.outcome, Outcome::Rejected);
    assert_eq!(refused.failure_policy_applied, Some(FailurePolicy::Fail));
    assert!(
        refused.decision.summary.contains("could not be asked")
            && refused.decision.summary.contains("(unsigned)"),
        "{}",
        refused.decision.summary
    );
    assert!(refused.decision.remediation[0].contains("once registry"));

    let admitted = verifier(FailurePolicy::Ignore)
        .decide(&pool, &b, request(&image), Utc::now())
        .await;
    assert!(admitted.decision.allowed);
    assert_eq!(admitted.decision.reason, ReasonCode::RegistryUnreachable);
    assert_eq!(admitted.outcome, Outcome::Error);
    assert_eq!(admitted.event_reason(), ReasonCode::RegistryUnreachable);
    assert!(admitted
        .decision
        .warnings
        .iter()
        .any(|w| w.contains("admitted unverified")));

    // A tag cannot even be resolved: the same, with the digest unknown.
    let tagged = ImageReference::parse(&format!("{DEAD_REGISTRY}/payments/api:2.0")).unwrap();
    let refused = verifier(FailurePolicy::Fail)
        .decide(&pool, &b, request(&tagged), Utc::now())
        .await;
    assert_eq!(refused.decision.reason, ReasonCode::RegistryUnreachable);
    assert_eq!(refused.request.digest, None);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn images_no_policy_covers_never_reach_the_registry(pool: PgPool) {
    let ci = Signer::new(1);
    let v = verifier(FailurePolicy::Fail);
    let other = ImageReference::parse("docker.io/library/nginx:1.27").unwrap();
    for (action, allowed) in [
        (DefaultAction::Deny, false),
        (DefaultAction::Warn, true),
        (DefaultAction::Allow, true),
    ] {
        let b = bundle(vec![ci.trusted("ci-release", |_| {})], action);
        let verdict = v.decide(&pool, &b, request(&other), Utc::now()).await;
        assert_eq!(verdict.decision.allowed, allowed, "{action:?}");
        assert_eq!(verdict.bundle_version, 7);
        if action == DefaultAction::Deny {
            assert_eq!(verdict.decision.reason, ReasonCode::NoMatchingPolicy);
        }
        if action == DefaultAction::Warn {
            assert_eq!(verdict.outcome, Outcome::Warned);
            assert_eq!(verdict.event_reason(), ReasonCode::NoMatchingPolicy);
        }
    }
    assert_eq!(v.registry().stats().requests, 0);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_compromised_key_counts_only_what_was_recorded_before_the_compromise(pool: PgPool) {
    let ci = Signer::new(1);
    let now = Utc::now();
    let since = now - TimeDelta::hours(1);
    let b = bundle(
        vec![ci.trusted("ci-release", |r| {
            r.status = KeyStatus::Compromised;
            r.compromised_since = Some(since);
        })],
        DefaultAction::Deny,
    );
    let (before, before_digest) = pinned("payments/old");
    record_signature(
        &pool,
        &ci,
        &before,
        &before_digest,
        since - TimeDelta::days(3),
    )
    .await;
    let (after, after_digest) = pinned("payments/new");
    record_signature(
        &pool,
        &ci,
        &after,
        &after_digest,
        since + TimeDelta::minutes(5),
    )
    .await;

    let v = verifier(FailurePolicy::Ignore);
    let old = v.decide(&pool, &b, request(&before), now).await;
    assert!(old.decision.allowed, "{}", old.decision.summary);
    let new = v.decide(&pool, &b, request(&after), now).await;
    assert!(
        new.decision.allowed,
        "the failure policy admits it, unverified"
    );
    assert_eq!(new.outcome, Outcome::Error);
    let strict = verifier(FailurePolicy::Fail)
        .decide(&pool, &b, request(&after), now)
        .await;
    assert!(!strict.decision.allowed);
    assert!(
        strict.decision.summary.contains("signed_after_compromise"),
        "{}",
        strict.decision.summary
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn repeated_decisions_verify_nothing_again(pool: PgPool) {
    let ci = Signer::new(1);
    let others: Vec<Signer> = (2..12).map(Signer::new).collect();
    let mut keys = vec![];
    for (i, s) in others.iter().enumerate() {
        keys.push(s.trusted(&format!("other-{i}"), |_| {}));
    }
    keys.push(ci.trusted("ci-release", |_| {}));
    let b = bundle(keys, DefaultAction::Deny);
    let (image, digest) = pinned("payments/api");
    record_signature(&pool, &ci, &image, &digest, Utc::now()).await;
    // A signature by a key the bundle does not have: every key is tried, once.
    let stranger = Signer::new(99);
    record_signature(&pool, &stranger, &image, &digest, Utc::now()).await;

    let v = verifier(FailurePolicy::Fail);
    let first = v.decide(&pool, &b, request(&image), Utc::now()).await;
    assert!(first.decision.allowed);
    let after_first = v.stats().verified.verifications;
    assert!(after_first >= 12, "{after_first}");
    for _ in 0..20 {
        let again = v.decide(&pool, &b, request(&image), Utc::now()).await;
        assert!(again.decision.allowed);
    }
    assert_eq!(v.stats().verified.verifications, after_first);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn verdicts_are_stored_as_verification_events(pool: PgPool) {
    let ci = Signer::new(1);
    let b = bundle(vec![ci.trusted("ci-release", |_| {})], DefaultAction::Deny);
    let mut conn = pool.acquire().await.unwrap();
    service::clusters::register(&mut conn, &service::Actor::cli(), "prod-eu-1", None)
        .await
        .unwrap();
    drop(conn);
    let (image, _) = pinned("payments/unsigned");
    let verdict = verifier(FailurePolicy::Fail)
        .decide(&pool, &b, request(&image), Utc::now())
        .await;
    let recorder = DecisionRecorder::spawn(pool.clone(), RecorderConfig::default());
    let id = uuid::Uuid::now_v7();
    let actor = service::Actor {
        label: "token:prod-eu-1".into(),
        source_ip: None,
    };
    assert!(recorder.record(
        &actor,
        false,
        verdict.to_event(id, "Pod", "api-", Utc::now())
    ));
    recorder.flush().await;
    assert_eq!(recorder.stats().stored, 1);
    let (outcome, reason, engine, policy, checks, workload): (
        String,
        String,
        String,
        Option<String>,
        serde_json::Value,
        String,
    ) = sqlx::query_as(
        "SELECT outcome, reason, engine, policy, checks, workload_kind || '/' || workload_name
           FROM verification_events WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (outcome.as_str(), reason.as_str(), engine.as_str()),
        ("rejected", "registry_unreachable", "trustwatch")
    );
    assert_eq!(policy.as_deref(), Some("prod-images"));
    assert_eq!(workload, "Pod/api-");
    assert_eq!(checks[0]["kind"], "sources");
    assert_eq!(checks[1]["subject"], "policy prod-images");
}
