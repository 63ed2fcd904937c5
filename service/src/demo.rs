//! A realistic fleet for newcomers and demos: five clusters, keys of five teams, 30 days of
//! signing and admissions with rejections of every reason. Everything goes through the same
//! ingestion and registration code the real APIs use; only the clock is replayed.

use chrono::{DateTime, Duration, Utc};
use domain::simple_signing::cosign_payload;
use domain::{
    Digest, Engine, ImageReference, KeyFingerprint, KeyStatus, Outcome, ReasonCode, SigningEvent,
    VerificationEvent,
};
use p256::ecdsa::signature::Signer;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::keys::NewKey;
use crate::trust_bundle::Publisher;
use crate::{alerts, audit, clusters, ingest, keys, policies, Actor, ServiceError};

/// What the generator produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoReport {
    pub clusters: usize,
    pub keys: usize,
    pub signing_events: u64,
    pub verification_events: u64,
    pub policies: usize,
    /// The trust-bundle version the demo published.
    pub bundle_version: Option<u64>,
}

const REGISTRY: &str = "registry.example.com";

struct ClusterSpec {
    name: &'static str,
    environment: &'static str,
    engine: Engine,
    mode: &'static str,
    /// Admissions per day.
    daily: u32,
    /// Hours since the last report: a cluster that stopped reporting shows as stale.
    silent_for_hours: i64,
}

const CLUSTERS: &[ClusterSpec] = &[
    ClusterSpec {
        name: "prod-eu-1",
        environment: "production",
        engine: Engine::Kyverno,
        mode: "enforce",
        daily: 70,
        silent_for_hours: 0,
    },
    ClusterSpec {
        name: "prod-us-1",
        environment: "production",
        engine: Engine::PolicyController,
        mode: "enforce",
        daily: 60,
        silent_for_hours: 0,
    },
    ClusterSpec {
        name: "staging-eu-1",
        environment: "staging",
        engine: Engine::Trustwatch,
        mode: "warn",
        daily: 45,
        silent_for_hours: 0,
    },
    ClusterSpec {
        name: "dev-1",
        environment: "development",
        engine: Engine::Connaisseur,
        mode: "warn",
        daily: 25,
        silent_for_hours: 0,
    },
    ClusterSpec {
        name: "edge-ap-1",
        environment: "production",
        engine: Engine::Ratify,
        mode: "enforce",
        daily: 20,
        silent_for_hours: 7,
    },
];

struct KeySpec {
    name: &'static str,
    team: &'static str,
    custody: &'static str,
    status: KeyStatus,
    age_days: i64,
}

const KEYS: &[KeySpec] = &[
    KeySpec {
        name: "ci-release",
        team: "platform",
        custody: "kms",
        status: KeyStatus::Active,
        age_days: 200,
    },
    KeySpec {
        name: "payments-release",
        team: "payments",
        custody: "file",
        status: KeyStatus::Active,
        age_days: 120,
    },
    KeySpec {
        name: "data-pipeline",
        team: "data",
        custody: "hsm",
        status: KeyStatus::Active,
        age_days: 400,
    },
    KeySpec {
        name: "web-release",
        team: "web",
        custody: "file",
        status: KeyStatus::Retiring,
        age_days: 500,
    },
    KeySpec {
        name: "security-review",
        team: "security",
        custody: "hsm",
        status: KeyStatus::Active,
        age_days: 90,
    },
    KeySpec {
        name: "payments-legacy",
        team: "payments",
        custody: "file",
        status: KeyStatus::Compromised,
        age_days: 700,
    },
    KeySpec {
        name: "web-2024",
        team: "web",
        custody: "file",
        status: KeyStatus::Revoked,
        age_days: 900,
    },
];

/// The demo's policy file: what a platform team would keep in git (see docs/policy.md).
pub const DEMO_POLICIES: &str = r#"# Release keys of the product teams; any one of them signs for the group.
apiVersion: trustwatch.dev/v1
kind: KeyGroup
metadata: {name: team-release-keys}
spec:
  keys: [ci-release, payments-release, data-pipeline, web-release]
---
# Payments in production: the team's release key and the security review, both.
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: payments-prod}
spec:
  images: ["registry.example.com/payments/*"]
  clusters: ["prod-*"]
  mode: enforce
  identity: repository
  requireDigest: true
  maxSignatureAge: 90d
  authorities: {threshold: 2, keys: [payments-release, security-review]}
---
# Everything else of ours in production: signed by the owning team's release key.
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: prod-images}
spec:
  images: ["registry.example.com/**"]
  clusters: ["prod-*", "edge-*"]
  mode: enforce
  authorities: {groups: [team-release-keys]}
---
# Staging and development warn instead of refusing, so teams see problems before production.
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: preprod-warn}
spec:
  images: ["registry.example.com/**"]
  clusters: ["staging-*", "dev-*"]
  mode: warn
  authorities: {groups: [team-release-keys]}
---
# Trying out a stricter rule for the web team: recorded, never enforced.
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: web-identity-audit}
spec:
  images: ["registry.example.com/web/*"]
  mode: audit
  identity: exact
  maxSignatureAge: 30d
  authorities: {keys: [web-release]}
"#;

/// Repository, owning team, workload kind, and the key the team signs with.
const REPOSITORIES: &[(&str, &str, &str, &str)] = &[
    ("payments/api", "payments", "Deployment", "payments-release"),
    (
        "payments/worker",
        "payments",
        "Deployment",
        "payments-release",
    ),
    ("platform/gateway", "platform", "Deployment", "ci-release"),
    (
        "platform/ingress-controller",
        "platform",
        "DaemonSet",
        "ci-release",
    ),
    ("data/etl", "data", "CronJob", "data-pipeline"),
    (
        "data/warehouse-sync",
        "data",
        "StatefulSet",
        "data-pipeline",
    ),
    ("web/frontend", "web", "Deployment", "web-release"),
    ("web/bff", "web", "Deployment", "web-release"),
];

/// When the compromised key is considered compromised, relative to now.
const COMPROMISED_DAYS_AGO: i64 = 5;

struct Release {
    image: ImageReference,
    digest: Digest,
    released_at: DateTime<Utc>,
    signed_by: Vec<String>,
}

/// Whether the demo was loaded already (it records itself in the audit log).
pub async fn is_loaded(pool: &PgPool) -> Result<bool, ServiceError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'demo.loaded')")
            .fetch_one(pool)
            .await?,
    )
}

/// Loads the demo fleet relative to `now`, unless it was loaded before (then returns `None`).
pub async fn load(
    pool: &PgPool,
    publisher: &Publisher,
    now: DateTime<Utc>,
) -> Result<Option<DemoReport>, ServiceError> {
    if is_loaded(pool).await? {
        return Ok(None);
    }
    let actor = Actor {
        label: "demo".into(),
        source_ip: None,
    };
    let mut rng = StdRng::seed_from_u64(0x7472_7573_7477);
    let mut report = DemoReport::default();

    // Keys: real P-256 key pairs, so fingerprints and signatures are genuine.
    let mut signers = Vec::new();
    for spec in KEYS {
        let secret = p256::ecdsa::SigningKey::random(&mut rng);
        let public = secret.verifying_key();
        let der = public
            .to_public_key_der()
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let fingerprint = KeyFingerprint::of_spki_der(der.as_bytes());
        // Inserted without publishing each one: the policies below publish once for all.
        let mut tx = pool.begin().await?;
        keys::insert(
            &mut tx,
            &actor,
            &NewKey {
                name: spec.name.into(),
                fingerprint: fingerprint.clone(),
                algorithm: "ecdsa-p256".into(),
                public_key_pem: pem,
                owner_team: spec.team.into(),
                custody: spec.custody.into(),
                custody_uri: match spec.custody {
                    "kms" => Some(format!("awskms:///alias/{}", spec.name)),
                    "hsm" => Some(format!("pkcs11:token=signing;object={}", spec.name)),
                    _ => None,
                },
                status: spec.status,
                valid_from: now - Duration::days(spec.age_days),
                valid_until: (spec.status == KeyStatus::Revoked).then(|| now - Duration::days(60)),
                rotation_period_days: Some(365),
                compromised_since: (spec.status == KeyStatus::Compromised)
                    .then(|| now - Duration::days(COMPROMISED_DAYS_AGO)),
            },
        )
        .await?;
        tx.commit().await?;
        signers.push((spec.name, secret, fingerprint));
        report.keys += 1;
    }
    // Policies and a key group, applied as a file would be; this publishes the trust bundle.
    let applied = policies::apply(
        pool,
        &actor,
        publisher,
        DEMO_POLICIES,
        policies::ApplyOptions::default(),
    )
    .await
    .map_err(|e| ServiceError::Internal(format!("the demo policies do not apply: {e}")))?;
    report.policies = applied
        .changes
        .iter()
        .filter(|c| c.kind == policies::DocumentKind::Policy)
        .count();
    report.bundle_version = applied.bundle_version;

    // Each team deploys into a namespace named after it.
    let mut teams: Vec<&str> = REPOSITORIES.iter().map(|(_, team, _, _)| *team).collect();
    teams.sort();
    teams.dedup();
    for team in teams {
        crate::teams::set_namespaces(pool, &actor, team, &[team.to_owned()]).await?;
    }

    let fingerprint_of = |name: &str| {
        signers
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, f)| f.clone())
    };

    // Releases: one a day per repository, signed by the team's key, and by the release key too
    // for payments (its production policy needs both).
    let mut releases: Vec<Release> = Vec::new();
    let mut signing: Vec<(DateTime<Utc>, SigningEvent)> = Vec::new();
    for (repo, team, _, team_key) in REPOSITORIES {
        for day in (0..30).rev() {
            let released_at = now - Duration::days(day) - Duration::minutes(rng.gen_range(60..600));
            let version = format!("1.{}.{}", 30 - day, rng.gen_range(0..3));
            let image = ImageReference::parse(&format!("{REGISTRY}/{repo}:{version}"))?;
            let digest = Digest::of(format!("{repo}@{version}").as_bytes());
            let mut key_names = vec![*team_key];
            if *team == "payments" {
                key_names.push("security-review");
            }
            // The compromised key was still used by an old pipeline until it was caught, and
            // once from a machine nobody recognises, after the compromise.
            if *repo == "payments/worker" && (3..=8).contains(&day) {
                key_names = vec!["payments-legacy", "security-review"];
            }
            for key_name in &key_names {
                let (_, secret, fingerprint) = signers
                    .iter()
                    .find(|(n, _, _)| n == key_name)
                    .ok_or_else(|| {
                        ServiceError::Internal(format!("demo key {key_name} missing"))
                    })?;
                let payload = cosign_payload(&image, &digest);
                let signature: p256::ecdsa::Signature = secret.sign(&payload);
                let anomalous = *key_name == "payments-legacy" && day == COMPROMISED_DAYS_AGO - 1;
                let recorded = released_at + Duration::seconds(rng.gen_range(5..90));
                signing.push((
                    recorded,
                    SigningEvent {
                        id: random_id(&mut rng),
                        key: fingerprint.clone(),
                        image: image.clone(),
                        digest: digest.clone(),
                        signer_identity: if anomalous {
                            "unknown/manual".into()
                        } else {
                            format!("gitlab-ci/{repo}/release#{}", 4000 + rng.gen_range(0..2000))
                        },
                        signer_host: Some(if anomalous {
                            "203.0.113.77".into()
                        } else {
                            format!("runner-{}.ci.internal", rng.gen_range(1..6))
                        }),
                        payload: Some(payload),
                        signature: Some(signature.to_der().as_bytes().to_vec()),
                        claimed_at: Some(recorded - Duration::seconds(rng.gen_range(1..5))),
                    },
                ));
            }
            releases.push(Release {
                image,
                digest,
                released_at,
                signed_by: key_names.iter().map(|k| k.to_string()).collect(),
            });
        }
    }
    signing.sort_by_key(|(t, _)| *t);
    for (recorded_at, event) in &signing {
        report.signing_events +=
            ingest::record_signing_events(pool, std::slice::from_ref(event), *recorded_at)
                .await?
                .accepted;
    }

    // Admissions: each cluster deploys recent releases all day; a share is refused, for every
    // reason there is.
    for spec in CLUSTERS {
        let mut conn = pool.acquire().await?;
        clusters::register(&mut conn, &actor, spec.name, Some(spec.environment)).await?;
        drop(conn);
        let last = now - Duration::hours(spec.silent_for_hours);
        let mut events = Vec::new();
        let total = spec.daily as i64 * 30;
        for i in 0..total {
            let observed_at = now - Duration::days(30)
                + Duration::seconds(i * 30 * 86_400 / total)
                + Duration::seconds(rng.gen_range(0..600));
            if observed_at > last {
                break;
            }
            let candidates: Vec<&Release> = releases
                .iter()
                .filter(|r| {
                    r.released_at <= observed_at && r.released_at > observed_at - Duration::days(4)
                })
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let release = candidates[rng.gen_range(0..candidates.len())];
            let roll = rng.gen_range(0..100);
            let reason = pick_reason(spec, release, observed_at, now, roll, &mut rng);
            events.push(admission(
                spec,
                release,
                reason,
                observed_at,
                &fingerprint_of,
                &mut rng,
            )?);
        }
        // Send them as the cluster would have: in batches, as time went by.
        let batches = events.chunks(40).count();
        for (i, batch) in events.chunks(40).enumerate() {
            // A cluster that is still reporting sent its latest batch just now.
            let received_at = if i + 1 == batches && spec.silent_for_hours == 0 {
                now
            } else {
                batch
                    .last()
                    .map(|e| e.observed_at + Duration::seconds(5))
                    .unwrap_or(now)
            };
            report.verification_events += ingest::record_verification_events(
                pool,
                &actor,
                batch,
                received_at.min(now),
                false,
            )
            .await?
            .accepted;
        }
        sqlx::query("UPDATE clusters SET engine = $2, enforcement_mode = $3, bundle_version = $4 WHERE name = $1")
            .bind(spec.name)
            .bind(spec.engine.as_str())
            .bind(spec.mode)
            // The clusters run the bundle the demo published; the silent edge cluster stopped
            // reporting one version earlier, so it shows as behind.
            .bind({
                let newest = report.bundle_version.unwrap_or(1) as i64;
                if spec.silent_for_hours > 0 {
                    (newest - 1).max(1)
                } else {
                    newest
                }
            })
            .execute(pool)
            .await?;
        report.clusters += 1;
    }

    // The fleet's anomalies (the silent edge cluster, the compromised key's late uses) as alerts.
    alerts::evaluate_now(
        pool,
        &actor,
        &alerts::AlertConfig {
            stale_after: Duration::minutes(15),
            webhooks: alerts::Webhooks::default(),
        },
        now,
    )
    .await?;

    let mut tx = pool.begin().await?;
    audit::append(
        &mut tx,
        &actor,
        "demo.loaded",
        "fleet:demo",
        json!({
            "clusters": report.clusters,
            "keys": report.keys,
            "signing_events": report.signing_events,
            "verification_events": report.verification_events,
            "policies": report.policies,
            "bundle_version": report.bundle_version,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(report))
}

fn random_id(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

/// The reason this admission ends with: mostly `admitted`, otherwise one that fits the image.
fn pick_reason(
    spec: &ClusterSpec,
    release: &Release,
    observed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    roll: u32,
    rng: &mut StdRng,
) -> ReasonCode {
    let compromised_since = now - Duration::days(COMPROMISED_DAYS_AGO);
    if release.signed_by.iter().any(|k| k == "payments-legacy") && observed_at >= compromised_since
    {
        return if release.released_at >= compromised_since {
            ReasonCode::SignedAfterCompromise
        } else {
            ReasonCode::KeyRevoked
        };
    }
    if roll >= 12 {
        return ReasonCode::Admitted;
    }
    const REFUSALS: &[ReasonCode] = &[
        ReasonCode::Unsigned,
        ReasonCode::Unsigned,
        ReasonCode::Unsigned,
        ReasonCode::SignatureInvalid,
        ReasonCode::UnknownKey,
        ReasonCode::KeyRevoked,
        ReasonCode::OutsideValidityWindow,
        ReasonCode::IdentityMismatch,
        ReasonCode::DigestMismatch,
        ReasonCode::ThresholdNotMet,
        ReasonCode::DigestRequired,
        ReasonCode::NoMatchingPolicy,
        ReasonCode::RegistryUnreachable,
        ReasonCode::Unclassified,
    ];
    // Trustwatch itself never leaves a verdict unclassified.
    loop {
        let r = REFUSALS[rng.gen_range(0..REFUSALS.len())];
        if !(spec.engine == Engine::Trustwatch && r == ReasonCode::Unclassified) {
            return r;
        }
    }
}

fn admission(
    spec: &ClusterSpec,
    release: &Release,
    reason: ReasonCode,
    observed_at: DateTime<Utc>,
    fingerprint_of: &dyn Fn(&str) -> Option<KeyFingerprint>,
    rng: &mut StdRng,
) -> Result<VerificationEvent, ServiceError> {
    let (repo, team, kind, team_key) = REPOSITORIES
        .iter()
        .find(|(repo, ..)| release.image.repository() == *repo)
        .copied()
        .ok_or_else(|| ServiceError::Internal("demo repository missing".into()))?;
    let outcome = match reason {
        ReasonCode::Admitted => Outcome::Admitted,
        ReasonCode::RegistryUnreachable if spec.mode == "enforce" && rng.gen_bool(0.5) => {
            Outcome::Error
        }
        _ if spec.mode == "enforce" => Outcome::Rejected,
        _ => Outcome::Warned,
    };
    let policy = match team {
        "payments" => "payments-two-person",
        _ if spec.environment == "production" => "prod-images",
        _ => "require-signed",
    };
    let image = release.image.to_string();
    let workload = repo.rsplit('/').next().unwrap_or(repo);
    let message = (reason != ReasonCode::Admitted).then(|| {
        engine_message(
            spec.engine,
            reason,
            policy,
            &image,
            &release.digest,
            kind,
            team,
            workload,
        )
    });
    let keys: Vec<KeyFingerprint> = release
        .signed_by
        .iter()
        .filter_map(|k| fingerprint_of(k))
        .collect();
    let checks = if spec.engine == Engine::Trustwatch {
        json!([{
            "policy": policy,
            "passed": reason == ReasonCode::Admitted,
            "authorities": release.signed_by.iter().map(|k| json!({
                "authority": k,
                "passed": reason == ReasonCode::Admitted,
                "why": if reason == ReasonCode::Admitted { "valid signature".to_string() } else { reason.summary().to_string() },
            })).collect::<Vec<_>>(),
        }])
    } else {
        json!([])
    };
    // What Trustwatch's verifier proposes for its own refusals (the real one derives it from the
    // policy; the demo names the team's current release key, never a compromised one).
    let remediation = if spec.engine == Engine::Trustwatch && reason != ReasonCode::Admitted {
        vec![format!(
            "trustwatch sign --key {team_key}.key {}@{}",
            release.image.name(),
            release.digest.as_str()
        )]
    } else {
        Vec::new()
    };
    Ok(VerificationEvent {
        id: random_id(rng),
        cluster: spec.name.into(),
        namespace: team.into(),
        workload_kind: kind.into(),
        workload_name: workload.into(),
        image: release.image.clone(),
        digest: (reason != ReasonCode::DigestRequired).then(|| release.digest.clone()),
        outcome,
        reason,
        engine: spec.engine,
        policy: Some(policy.into()),
        message,
        checks,
        remediation,
        keys,
        observed_at,
    })
}

/// What each engine actually says when it refuses, in the shapes their users see.
#[allow(clippy::too_many_arguments)]
fn engine_message(
    engine: Engine,
    reason: ReasonCode,
    policy: &str,
    image: &str,
    digest: &Digest,
    kind: &str,
    namespace: &str,
    workload: &str,
) -> String {
    let cause = match reason {
        ReasonCode::Unsigned => "no signatures found".to_string(),
        ReasonCode::SignatureInvalid => {
            "invalid signature when validating ASN.1 encoded signature".into()
        }
        ReasonCode::UnknownKey => {
            "no matching signatures: signature not signed by a trusted key".into()
        }
        ReasonCode::KeyRevoked => "key has been revoked".into(),
        ReasonCode::SignedAfterCompromise => "signature recorded after key compromise".into(),
        ReasonCode::OutsideValidityWindow => "signing key outside its validity window".into(),
        ReasonCode::IdentityMismatch => {
            format!("identity mismatch: expected {image}, got registry.example.com/sandbox/copy")
        }
        ReasonCode::DigestMismatch => {
            "signature payload digest does not match the image digest".into()
        }
        ReasonCode::ThresholdNotMet => "1 of 2 required signatures".into(),
        ReasonCode::DigestRequired => "image reference must be a digest".into(),
        ReasonCode::NoMatchingPolicy => "no matching policy for image".into(),
        ReasonCode::RegistryUnreachable => {
            "GET https://registry.example.com/v2/: dial tcp 10.0.4.12:443: i/o timeout".into()
        }
        ReasonCode::Unclassified => "internal error evaluating rule 17".into(),
        ReasonCode::Admitted => String::new(),
    };
    match engine {
        Engine::Kyverno => format!(
            "admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource {kind}/{namespace}/{workload} was blocked due to the following policies \n\n{policy}:\n  verify-signature: 'failed to verify image {image}: .attestors[0].entries[0].keys: {cause}'"
        ),
        Engine::PolicyController => format!(
            "admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: {policy}: spec.template.spec.containers[0].image\n{image}@{digest} signature key validation failed for authority authority-0 for {image}@{digest}: {cause}"
        ),
        Engine::Connaisseur => format!(
            "admission webhook \"connaisseur-svc.connaisseur.svc\" denied the request: Unable to find signed digest for image {image}: {cause}."
        ),
        Engine::Ratify => format!(
            "admission webhook \"validation.gatekeeper.sh\" denied the request: [ratify-constraint] Subject failed verification: {image}@{digest}: {cause}"
        ),
        Engine::Kubewarden => format!(
            "admission webhook \"clusterwide-verify-image-signatures.kubewarden.admission\" denied the request: Resource {workload} is not accepted: verification of image {image} failed: {cause}"
        ),
        Engine::Trustwatch => format!("trustwatch: {image}: {} ({cause})", reason.summary()),
    }
}
