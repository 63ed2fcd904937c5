//! `POST /k8s/admission` end to end: the real router, a real PostgreSQL, a real
//! `docker-registry` holding images and cosign signatures made with a real P-256 key.

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{Digest, ImageReference, KeyStatus, SigningEvent, TokenScope};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{json, Value};
use server::Settings;
use service::verifier::FailurePolicy;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{spawn_app_with, TestApp};
use crate::interop_support::{push_image, TestRegistry};

const CLUSTER: &str = "prod-eu-1";
const PUBLIC_URL: &str = "https://trustwatch.example.com";

/// A P-256 signing key, as CI would hold it.
struct SigningKey {
    key: p256::ecdsa::SigningKey,
    pem: String,
}

impl SigningKey {
    fn new(seed: u8) -> Self {
        let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        Self { key, pem }
    }

    fn public(&self) -> domain::PublicKey {
        domain::PublicKey::parse_pem(&self.pem).unwrap()
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let s: p256::ecdsa::Signature = self.key.sign(payload);
        s.to_der().as_bytes().to_vec()
    }
}

/// The webhook's world: a registry, the app, a cluster-bound token and the trust data.
struct World {
    /// `None` once stopped.
    registry: Option<TestRegistry>,
    registry_addr: String,
    app: TestApp,
    token: String,
    ci: SigningKey,
}

fn settings(registry: &str, policy: FailurePolicy) -> Settings {
    Settings {
        public_url: Some(PUBLIC_URL.into()),
        admission_failure_policy: policy,
        admission_bundle_refresh_millis: 0,
        admission_deadline_millis: 5000,
        registry_allow_http: vec![registry.to_owned()],
        // Every admission asks the registry, so a signature pushed a moment ago counts.
        registry_cache_seconds: 0,
        ..Settings::default()
    }
}

impl World {
    async fn start(pool: PgPool, mode: &str, policy: FailurePolicy) -> Self {
        Self::start_on(pool, mode, policy).await
    }

    /// As `start`, with the app on `pool` (which may reach the database through a proxy).
    async fn start_on(pool: PgPool, mode: &str, policy: FailurePolicy) -> Self {
        let registry = TestRegistry::start();
        let registry_addr = registry.addr.clone();
        let app = spawn_app_with(pool, settings(&registry_addr, policy)).await;
        let token = app.cluster_token(CLUSTER).await;
        let ci = SigningKey::new(7);
        let world = Self {
            registry: Some(registry),
            registry_addr,
            app,
            token,
            ci,
        };
        world.add_key("ci-release", &world.ci).await;
        world
            .add_policy(&format!(
                "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: prod-images}}\n\
                 spec:\n  images: [\"{}/payments/*\"]\n  mode: {mode}\n  authorities: {{keys: [ci-release]}}\n",
                world.registry_addr
            ))
            .await;
        world
    }

    async fn add_key(&self, name: &str, key: &SigningKey) {
        let public = key.public();
        service::keys::register(
            &self.app.pool,
            &service::Actor::cli(),
            &self.app.publisher,
            &service::keys::NewKey {
                name: name.into(),
                fingerprint: public.fingerprint().clone(),
                algorithm: public.algorithm().as_str().into(),
                public_key_pem: key.pem.clone(),
                owner_team: "payments".into(),
                custody: "file".into(),
                custody_uri: None,
                status: KeyStatus::Active,
                valid_from: Utc::now() - chrono::TimeDelta::days(30),
                valid_until: None,
                rotation_period_days: None,
                compromised_since: None,
            },
        )
        .await
        .unwrap();
    }

    /// Applies a policy document as `trustwatch policy apply` does (publishing a new bundle).
    async fn add_policy(&self, yaml: &str) {
        service::policies::apply(
            &self.app.pool,
            &service::Actor::cli(),
            &self.app.publisher,
            yaml,
            service::policies::ApplyOptions::default(),
        )
        .await
        .unwrap();
    }

    /// `trustwatch keys set-status NAME revoked`.
    async fn revoke(&self, name: &str) {
        service::keys::set_status(
            &self.app.pool,
            &service::Actor::cli(),
            &self.app.publisher,
            name,
            KeyStatus::Revoked,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    }

    fn registry(&self) -> &TestRegistry {
        self.registry.as_ref().expect("the registry is running")
    }

    /// Pushes an image and returns it (tagged) with its digest.
    async fn image(&self, repository: &str) -> (ImageReference, Digest) {
        let reference = format!("{}/{repository}:1.4", self.registry_addr);
        let digest = push_image(&self.registry().client(), &reference, repository).await;
        (ImageReference::parse(&reference).unwrap(), digest)
    }

    /// Signs `digest` as cosign does and pushes the signature to the registry.
    async fn sign(&self, key: &SigningKey, image: &ImageReference, digest: &Digest) {
        let payload = domain::simple_signing::cosign_payload(image, digest);
        self.registry()
            .client()
            .push_signature(image, digest, &payload, &key.sign(&payload))
            .await
            .unwrap();
    }

    async fn review(&self, body: &Value) -> Value {
        let res = self
            .app
            .post_json("/k8s/admission", &self.token, body)
            .await;
        assert_eq!(res.status(), 200);
        let review: Value = res.json().await.unwrap();
        assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(review["kind"], "AdmissionReview");
        review["response"].clone()
    }
}

fn review_of(kind: (&str, &str), name: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": Uuid::new_v4().to_string(),
            "kind": {"group": kind.0, "version": "v1", "kind": kind.1},
            "resource": {"group": kind.0, "version": "v1", "resource": "x"},
            "name": name,
            "namespace": "payments",
            "operation": "CREATE",
            "userInfo": {"username": "dev@example.com"},
            "object": object,
            "oldObject": null,
            "dryRun": false
        }
    })
}

fn pod(images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    review_of(
        ("", "Pod"),
        "",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": "api-7d9c5b-", "namespace": "payments"},
               "spec": {"containers": containers}}),
    )
}

fn deployment(image: &str, init: &str) -> Value {
    review_of(
        ("apps", "Deployment"),
        "api",
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "api", "namespace": "payments"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                        "template": {"metadata": {"labels": {"app": "api"}},
                                     "spec": {"containers": [{"name": "api", "image": image}],
                                              "initContainers": [{"name": "migrate", "image": init}]}}}}),
    )
}

/// The event id at the end of the first rejection link in `text`.
fn linked_event(text: &str) -> Uuid {
    let start = text
        .find(&format!("{PUBLIC_URL}/rejections/"))
        .unwrap_or_else(|| panic!("no rejection link in {text}"))
        + PUBLIC_URL.len()
        + "/rejections/".len();
    Uuid::parse_str(&text[start..start + 36]).unwrap()
}

#[derive(Debug, sqlx::FromRow)]
struct StoredEvent {
    cluster: String,
    namespace: String,
    workload_kind: String,
    workload_name: String,
    image: String,
    digest: Option<String>,
    outcome: String,
    reason: String,
    engine: String,
    policy: Option<String>,
    message: Option<String>,
    checks: Value,
    key_fingerprints: Vec<String>,
}

/// Waits (briefly: the recorder writes behind the answer) for the event `id`.
async fn stored(pool: &PgPool, id: Uuid) -> StoredEvent {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Option<StoredEvent> = sqlx::query_as(
            "SELECT c.name AS cluster, v.namespace, v.workload_kind, v.workload_name, v.image,
                    v.digest, v.outcome, v.reason, v.engine, v.policy, v.message, v.checks,
                    v.key_fingerprints
               FROM verification_events v JOIN clusters c ON c.id = v.cluster_id
              WHERE v.id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap();
        if let Some(e) = found {
            return e;
        }
        assert!(Instant::now() < deadline, "event {id} was never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn events_of(pool: &PgPool, outcome: &str) -> Vec<StoredEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<StoredEvent> = sqlx::query_as(
            "SELECT c.name AS cluster, v.namespace, v.workload_kind, v.workload_name, v.image,
                    v.digest, v.outcome, v.reason, v.engine, v.policy, v.message, v.checks,
                    v.key_fingerprints
               FROM verification_events v JOIN clusters c ON c.id = v.cluster_id
              WHERE v.outcome = $1 ORDER BY v.id",
        )
        .bind(outcome)
        .fetch_all(pool)
        .await
        .unwrap();
        if !found.is_empty() || Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn pods_and_deployments_signed_by_the_policy_key_are_allowed(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let (api, api_digest) = w.image("payments/api").await;
    let (migrate, migrate_digest) = w.image("payments/migrate").await;
    w.sign(&w.ci, &api, &api_digest).await;
    w.sign(&w.ci, &migrate, &migrate_digest).await;

    let r = w.review(&pod(&[&api.to_string(), &api.to_string()])).await;
    assert_eq!(r["allowed"], true, "{r:#}");
    assert!(
        r.get("status").is_none() && r.get("warnings").is_none(),
        "{r:#}"
    );
    assert_eq!(r["auditAnnotations"]["decision"], "allowed");
    assert_eq!(r["auditAnnotations"]["reason"], "admitted");
    assert!(r["auditAnnotations"]["bundle-version"].is_string());

    let body = deployment(&api.to_string(), &migrate.to_string());
    let r = w.review(&body).await;
    assert_eq!(r["uid"], body["request"]["uid"], "the uid is echoed");
    assert_eq!(r["allowed"], true, "{r:#}");

    // One event per distinct image per review: the pod's two containers share one image.
    let admitted = events_of(&w.app.pool, "admitted").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut admitted_len = admitted.len();
    while admitted_len < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        admitted_len = events_of(&w.app.pool, "admitted").await.len();
    }
    let admitted = events_of(&w.app.pool, "admitted").await;
    assert_eq!(admitted.len(), 3);
    let e = &admitted[0];
    assert_eq!(
        (
            e.cluster.as_str(),
            e.namespace.as_str(),
            e.workload_kind.as_str(),
            e.workload_name.as_str()
        ),
        (CLUSTER, "payments", "Pod", "api-7d9c5b-")
    );
    assert_eq!(e.engine, "trustwatch");
    assert_eq!(e.reason, "admitted");
    assert_eq!(e.digest.as_deref(), Some(api_digest.as_str()));
    assert_eq!(e.key_fingerprints, [w.ci.public().fingerprint().as_str()]);
    assert_eq!(e.policy.as_deref(), Some("prod-images"));
    let kinds: Vec<&str> = admitted.iter().map(|e| e.workload_kind.as_str()).collect();
    assert_eq!(kinds, ["Pod", "Deployment", "Deployment"]);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn unsigned_images_are_refused_with_the_fix_and_a_link(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let (signed, signed_digest) = w.image("payments/api").await;
    w.sign(&w.ci, &signed, &signed_digest).await;
    let (unsigned, unsigned_digest) = w.image("payments/worker").await;

    let r = w
        .review(&pod(&[&signed.to_string(), &unsigned.to_string()]))
        .await;
    assert_eq!(r["allowed"], false, "{r:#}");
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Trustwatch refused Pod payments/api-7d9c5b-: 1 of 2 images failed verification."
        ),
        "{message}"
    );
    assert!(
        message.contains(&format!("{unsigned} (container c1): unsigned.")),
        "{message}"
    );
    let pinned = format!("{}@{unsigned_digest}", unsigned.name());
    assert!(
        message.contains(&format!(
            "To fix: trustwatch sign --key ci-release {pinned}"
        )),
        "{message}"
    );
    assert!(
        message.contains("To fix: ask team payments to sign with ci-release"),
        "{message}"
    );
    assert!(
        !message.contains(&signed.to_string()),
        "the admitted image is not mentioned"
    );
    assert_eq!(r["auditAnnotations"]["decision"], "refused");
    assert_eq!(r["auditAnnotations"]["reason"], "unsigned");

    // The link names the stored event, with its checks.
    let e = stored(&w.app.pool, linked_event(message)).await;
    assert_eq!(
        (e.outcome.as_str(), e.reason.as_str()),
        ("rejected", "unsigned")
    );
    assert_eq!(e.cluster, CLUSTER);
    assert_eq!(e.image, unsigned.to_string());
    assert_eq!(e.digest.as_deref(), Some(unsigned_digest.as_str()));
    assert!(
        e.message.as_deref().unwrap().contains("No signature found"),
        "{:?}",
        e.message
    );
    assert_eq!(e.checks[0]["kind"], "sources");
    assert!(
        e.checks[0]["children"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("0 signatures"),
        "{:#}",
        e.checks[0]
    );
    assert_eq!(e.checks[1]["kind"], "policy");
    assert_eq!(e.checks[1]["subject"], "policy prod-images");
    assert_eq!(e.checks[1]["reason"], "unsigned");
    assert!(e.key_fingerprints.is_empty());

    // Signed a moment later, the same pod is admitted.
    w.sign(&w.ci, &unsigned, &unsigned_digest).await;
    let r = w
        .review(&pod(&[&signed.to_string(), &unsigned.to_string()]))
        .await;
    assert_eq!(r["allowed"], true, "{r:#}");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn warn_mode_admits_with_warnings(pool: PgPool) {
    let w = World::start(pool, "warn", FailurePolicy::Fail).await;
    let (unsigned, _) = w.image("payments/api").await;
    let r = w
        .review(&deployment(&unsigned.to_string(), &unsigned.to_string()))
        .await;
    assert_eq!(r["allowed"], true, "{r:#}");
    assert!(r.get("status").is_none());
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.starts_with(&format!(
            "{}: unsigned (policy prod-images, warn mode); see {PUBLIC_URL}/rejections/",
            unsigned
        )),
        "{warning}"
    );
    assert!(warning.chars().count() <= 256);
    assert_eq!(r["auditAnnotations"]["decision"], "warned");
    assert_eq!(r["auditAnnotations"]["reason"], "unsigned");
    let e = stored(&w.app.pool, linked_event(warning)).await;
    assert_eq!(
        (e.outcome.as_str(), e.reason.as_str()),
        ("warned", "unsigned")
    );
    assert_eq!(
        (e.workload_kind.as_str(), e.workload_name.as_str()),
        ("Deployment", "api")
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn revoking_the_key_flips_the_next_decision(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let (api, digest) = w.image("payments/api").await;
    w.sign(&w.ci, &api, &digest).await;
    let body = pod(&[&api.to_string()]);
    let before = w.review(&body).await;
    assert_eq!(before["allowed"], true);

    w.revoke("ci-release").await;
    let r = w.review(&body).await;
    assert_eq!(r["allowed"], false, "{r:#}");
    // Decided on the bundle version the revocation published.
    let version = |r: &Value| -> u64 {
        r["auditAnnotations"]["bundle-version"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(version(&before) + 1, version(&r));
    let head = service::trust_bundle::head(&w.app.pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.version, version(&r));
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains(": key_revoked."), "{message}");
    assert!(message.contains("was revoked"), "{message}");
    let e = stored(&w.app.pool, linked_event(message)).await;
    assert_eq!(e.reason, "key_revoked");
    assert_eq!(e.key_fingerprints, [w.ci.public().fingerprint().as_str()]);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_registry_that_is_down_meets_the_failure_policy(pool: PgPool) {
    let mut w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let (api, digest) = w.image("payments/api").await;
    w.sign(&w.ci, &api, &digest).await;
    drop(w.registry.take());

    let r = w.review(&pod(&[&api.to_string()])).await;
    assert_eq!(r["allowed"], false, "{r:#}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains(": registry_unreachable."), "{message}");
    assert!(message.contains("once registry"), "{message}");
    assert_eq!(r["auditAnnotations"]["reason"], "registry_unreachable");
    let e = stored(&w.app.pool, linked_event(message)).await;
    assert_eq!(
        (e.outcome.as_str(), e.reason.as_str()),
        ("rejected", "registry_unreachable")
    );
    assert_eq!(e.checks[0]["children"][0]["reason"], "registry_unreachable");

    // The same with `ignore`: admitted, with a warning, and recorded as an error.
    let ignoring = spawn_app_with(
        w.app.pool.clone(),
        settings(&w.registry_addr, FailurePolicy::Ignore),
    )
    .await;
    let res = ignoring
        .post_json("/k8s/admission", &w.token, &pod(&[&api.to_string()]))
        .await;
    let r: Value = res.json().await.unwrap();
    let r = &r["response"];
    assert_eq!(r["allowed"], true, "{r:#}");
    let warning = r["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("admitted unverified, registry_unreachable"),
        "{warning}"
    );
    let e = stored(&w.app.pool, linked_event(warning)).await;
    assert_eq!(
        (e.outcome.as_str(), e.reason.as_str()),
        ("error", "registry_unreachable")
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn recorded_signing_events_count_when_the_registry_has_no_signature(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let (api, digest) = w.image("payments/api").await;
    let payload = domain::simple_signing::cosign_payload(&api, &digest);
    service::ingest::record_signing_events(
        &w.app.pool,
        &[SigningEvent {
            id: Uuid::now_v7(),
            key: w.ci.public().fingerprint().clone(),
            image: api.clone(),
            digest: digest.clone(),
            signer_identity: "ci/payments/release".into(),
            signer_host: Some("runner-7".into()),
            signature: Some(w.ci.sign(&payload)),
            payload: Some(payload),
            claimed_at: None,
        }],
        Utc::now(),
    )
    .await
    .unwrap();

    let r = w.review(&pod(&[&api.to_string()])).await;
    assert_eq!(r["allowed"], true, "{r:#}");
    let admitted = events_of(&w.app.pool, "admitted").await;
    let checks = admitted[0].checks.to_string();
    assert!(
        checks.contains("1 signature recorded by Trustwatch"),
        "{checks}"
    );
    assert!(checks.contains("\"source\":\"signing_event\""), "{checks}");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn objects_without_a_pod_spec_and_dry_runs_are_not_recorded(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let config_map = review_of(
        ("", "ConfigMap"),
        "settings",
        json!({"metadata": {"name": "settings"}, "data": {"a": "b"}}),
    );
    let r = w.review(&config_map).await;
    assert_eq!(
        r,
        json!({"uid": config_map["request"]["uid"], "allowed": true})
    );

    let (unsigned, _) = w.image("payments/api").await;
    let mut dry = pod(&[&unsigned.to_string()]);
    dry["request"]["dryRun"] = json!(true);
    let r = w.review(&dry).await;
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"]
        .as_str()
        .unwrap()
        .contains("Details: not recorded (dry run)"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events")
        .fetch_one(&w.app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_webhook_needs_a_cluster_bound_verification_token(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let body = pod(&["nginx:1.27"]);
    let send = |token: Option<String>, body: Vec<u8>| {
        let url = w.app.url("/k8s/admission");
        async move {
            let mut req = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or_default())
        }
    };
    let bytes = serde_json::to_vec(&body).unwrap();

    let (status, problem) = send(None, bytes.clone()).await;
    assert_eq!(status, 401, "{problem}");
    let (status, _) = send(Some("tw_not-a-token".into()), bytes.clone()).await;
    assert_eq!(status, 401);
    let reader = w
        .app
        .token("dashboard", &[TokenScope::Read], Some(CLUSTER), false)
        .await;
    let (status, problem) = send(Some(reader), bytes.clone()).await;
    assert_eq!(status, 403);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ingest:verification"),
        "{problem}"
    );
    let unbound = w
        .app
        .token("fleet", &[TokenScope::IngestVerification], None, true)
        .await;
    let (status, problem) = send(Some(unbound), bytes.clone()).await;
    assert_eq!(status, 403);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not bound to a cluster"),
        "{problem}"
    );

    // Malformed reviews are a 400 that says what is wrong.
    let mut v1beta1 = body.clone();
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let mut no_uid = body.clone();
    no_uid["request"].as_object_mut().unwrap().remove("uid");
    let mut bad_image = body.clone();
    bad_image["request"]["object"]["spec"]["containers"][0]["image"] = json!(42);
    for (review, expected) in [
        (b"{not json".to_vec(), "not an AdmissionReview"),
        (
            serde_json::to_vec(&v1beta1).unwrap(),
            "admissionReviewVersions: [v1]",
        ),
        (
            serde_json::to_vec(&no_uid).unwrap(),
            "request.uid is missing",
        ),
        (serde_json::to_vec(&bad_image).unwrap(), "not a valid Pod"),
    ] {
        let (status, problem) = send(Some(w.token.clone()), review).await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(expected),
            "{problem}"
        );
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_database_outage_does_not_stop_admissions(pool: PgPool) {
    use crate::helpers::{database_address, DbProxy};

    let proxy = DbProxy::start(database_address(&pool)).await;
    let w = World::start_on(proxy.pool_like(&pool), "enforce", FailurePolicy::Fail).await;
    let (api, digest) = w.image("payments/api").await;
    w.sign(&w.ci, &api, &digest).await;
    let body = pod(&[&api.to_string()]);
    assert_eq!(w.review(&body).await["allowed"], true);

    // The bundle and the token are in memory, the registry has the signature: still decided.
    proxy.down();
    let started = Instant::now();
    let r = w.review(&body).await;
    assert_eq!(r["allowed"], true, "{r:#}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // The verdict waited in the recorder's queue and is stored once the database is back.
    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events")
            .fetch_one(&pool)
            .await
            .unwrap();
        if stored == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{stored} of 2 verdicts stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn updates_are_judged_on_the_images_they_introduce(pool: PgPool) {
    let w = World::start(pool, "enforce", FailurePolicy::Fail).await;
    let (old, _) = w.image("payments/api").await;
    let (new, _) = w.image("payments/worker").await;
    let update = |from: &str, to: &str| {
        let mut body = pod(&[to]);
        body["request"]["operation"] = json!("UPDATE");
        body["request"]["oldObject"] = pod(&[from])["request"]["object"].clone();
        body
    };

    // Running an unsigned image already (admitted before its policy existed, say): removing a
    // finalizer or changing a label must not be refused.
    let r = w.review(&update(&old.to_string(), &old.to_string())).await;
    assert_eq!(
        r,
        json!({"uid": r["uid"], "allowed": true}),
        "allowed untouched"
    );
    // Changing the image is judged like a creation.
    let r = w.review(&update(&old.to_string(), &new.to_string())).await;
    assert_eq!(r["allowed"], false, "{r:#}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{new} (container c0): unsigned.")),
        "{message}"
    );
    let e = stored(&w.app.pool, linked_event(message)).await;
    assert_eq!(e.image, new.to_string());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events")
        .fetch_one(&w.app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "the unchanged update was not recorded");
}
