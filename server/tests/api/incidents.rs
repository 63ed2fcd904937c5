//! The incident console end to end, through the server functions the pages call, against real
//! PostgreSQL with seeded events and known answers: the key-compromise playbook from declaration
//! to the closed review, the two-person rule, drills that change nothing, the emergency
//! override, and that viewers cannot act.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::cosign_key::CosignPrivateKey;
use domain::{AdmissionRequest, Digest, ImageReference, Outcome, Role, SigningEvent};
use serde_json::{json, Value};
use service::registry::{RegistryClient, RegistryConfig};
use service::verifier::{FailurePolicy, Verifier, VerifierConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{form, spawn_app_with, TestApp};

/// Nothing listens on port 9: the verifier decides on the signatures Trustwatch recorded.
const REGISTRY: &str = "127.0.0.1:9";
const ADA: &str = "ada@example.org";
const BOB: &str = "bob@example.org";
const VIC: &str = "vic@example.org";

fn signing_key(seed: u8) -> CosignPrivateKey {
    CosignPrivateKey::from_random_scalar(&[seed; 32]).unwrap()
}

struct World {
    app: TestApp,
    ada: reqwest::Client,
    bob: reqwest::Client,
    vic: reqwest::Client,
    /// T, the suspected compromise time.
    t: DateTime<Utc>,
    before: (ImageReference, Digest),
    after: (ImageReference, Digest),
    attacker: (ImageReference, Digest),
}

fn image(repo: &str, tag: &str) -> (ImageReference, Digest) {
    let digest = Digest::of(format!("{repo}:{tag}").as_bytes());
    let image = ImageReference::parse(&format!("{REGISTRY}/{repo}:{tag}@{digest}")).unwrap();
    (image, digest)
}

async fn sign(
    app: &TestApp,
    signer: &CosignPrivateKey,
    (image, digest): &(ImageReference, Digest),
    identity: &str,
    host: &str,
    at: DateTime<Utc>,
) {
    let payload = domain::simple_signing::cosign_payload(image, digest);
    let event = SigningEvent {
        id: Uuid::now_v7(),
        key: signer.public_key().fingerprint().clone(),
        image: image.clone(),
        digest: digest.clone(),
        signer_identity: identity.into(),
        signer_host: Some(host.into()),
        signature: Some(signer.sign(&payload)),
        payload: Some(payload),
        claimed_at: None,
    };
    service::ingest::record_signing_events(&app.pool, &[event], at)
        .await
        .unwrap();
}

async fn admitted(
    app: &TestApp,
    token: &str,
    workload: &str,
    img: &(ImageReference, Digest),
    keys: &[String],
    at: DateTime<Utc>,
) {
    let res = app
        .post_json(
            "/api/v1/verification-events",
            token,
            &json!({"events": [{
                "id": Uuid::now_v7().to_string(), "namespace": "payments",
                "workload": {"kind": "Deployment", "name": workload},
                "image": img.0.to_string(), "digest": img.1.as_str(),
                "outcome": "admitted", "reason": "admitted", "engine": "trustwatch",
                "policy": "payments", "keys": keys, "observed_at": at.to_rfc3339(),
            }]}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn heartbeat(app: &TestApp, cluster: &str, version: i64) {
    service::clusters::heartbeat(
        &app.pool,
        &service::Actor::cli(),
        &service::clusters::Heartbeat {
            cluster: cluster.into(),
            engine: Some("trustwatch".into()),
            enforcement_mode: Some("enforce".into()),
            bundle_version: Some(version),
        },
        true,
        Utc::now(),
    )
    .await
    .unwrap();
}

async fn bundle_version(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A key `ci-release` trusted by the `payments` policy; two clusters on the current bundle; one
/// image signed before T, one legitimately after T, one by an identity never seen before (the
/// attacker's), each admitted in `prod-eu-1`.
async fn world(pool: PgPool) -> World {
    world_with(pool, server::Settings::default()).await
}

async fn world_with(pool: PgPool, settings: server::Settings) -> World {
    let app = spawn_app_with(pool, settings).await;
    let ada = app.logged_in(ADA, Role::Security).await;
    let bob = app.logged_in(BOB, Role::Security).await;
    let vic = app.logged_in(VIC, Role::Viewer).await;
    let ci = signing_key(1);
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let t = now - Duration::hours(1);
    service::keys::import(
        &app.pool,
        &service::Actor::cli(),
        &app.publisher,
        &service::keys::KeyImport {
            name: "ci-release".into(),
            public_key_pem: ci.public_key().to_pem(),
            owner_team: "payments".into(),
            custody: "kms".into(),
            custody_uri: None,
            valid_from: Some(now - Duration::days(30)),
            valid_until: None,
            rotation_period_days: Some(90),
        },
        now,
    )
    .await
    .unwrap();
    service::policies::apply(
        &app.pool,
        &service::Actor::cli(),
        &app.publisher,
        &format!(
            "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: payments}}\n\
             spec:\n  images: [\"{REGISTRY}/payments/*\"]\n  authorities: {{keys: [ci-release]}}\n"
        ),
        service::policies::ApplyOptions::default(),
    )
    .await
    .unwrap();
    let v = bundle_version(&app).await;
    heartbeat(&app, "prod-eu-1", v).await;
    heartbeat(&app, "prod-us-1", v).await;
    let before = image("payments/api", "1.0");
    let after = image("payments/api", "1.1");
    let attacker = image("payments/miner", "latest");
    sign(
        &app,
        &ci,
        &before,
        "ci/release",
        "runner-1",
        t - Duration::hours(2),
    )
    .await;
    sign(
        &app,
        &ci,
        &after,
        "ci/release",
        "runner-1",
        t + Duration::minutes(10),
    )
    .await;
    sign(
        &app,
        &ci,
        &attacker,
        "mallory@laptop",
        "laptop",
        t + Duration::minutes(20),
    )
    .await;
    let fp = vec![ci.public_key().fingerprint().to_string()];
    let token = app.cluster_token("prod-eu-1").await;
    admitted(
        &app,
        &token,
        "api-old",
        &before,
        &fp,
        t - Duration::minutes(90),
    )
    .await;
    admitted(&app, &token, "api", &after, &fp, t + Duration::minutes(15)).await;
    admitted(
        &app,
        &token,
        "miner",
        &attacker,
        &fp,
        t + Duration::minutes(25),
    )
    .await;
    World {
        app,
        ada,
        bob,
        vic,
        t,
        before,
        after,
        attacker,
    }
}

async fn call(w: &World, who: &reqwest::Client, endpoint: &str, body: &str) -> (u16, Value) {
    let res = w.app.server_fn(who, endpoint, body).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn ok(w: &World, who: &reqwest::Client, endpoint: &str, body: &str) -> Value {
    let (status, v) = call(w, who, endpoint, body).await;
    assert_eq!(status, 200, "{endpoint} {body}: {v}");
    v
}

async fn act(
    w: &World,
    who: &reqwest::Client,
    id: &str,
    step: &str,
    command: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut pairs = vec![("incident", id), ("step", step), ("command", command)];
    pairs.extend_from_slice(extra);
    call(w, who, "incidents/act", &form(&pairs)).await
}

async fn get(w: &World, id: &str) -> Value {
    ok(w, &w.ada, "incidents/get", &form(&[("id", id)])).await
}

fn step<'v>(incident: &'v Value, id: &str) -> &'v Value {
    incident["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

async fn declare(w: &World, drill: bool) -> String {
    let t = w.t.to_rfc3339();
    let mut pairs = vec![
        ("playbook", "key-compromise"),
        ("title", "ci-release key found in a public gist"),
        ("severity", "critical"),
        ("commander", ADA),
        ("key", "ci-release"),
        ("compromised_since", t.as_str()),
    ];
    if drill {
        pairs.push(("drill", "on"));
    }
    ok(w, &w.ada, "incidents/declare", &form(&pairs))
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

fn verifier() -> Verifier {
    let registry = RegistryClient::new(
        RegistryConfig {
            connect_timeout: StdDuration::from_secs(1),
            timeout: StdDuration::from_secs(2),
            ..RegistryConfig::default()
        }
        .allowing_http(REGISTRY),
    )
    .unwrap();
    Verifier::new(
        registry,
        VerifierConfig {
            failure_policy: FailurePolicy::Fail,
            evidence_ttl: StdDuration::ZERO,
            ..VerifierConfig::default()
        },
    )
}

async fn verdict(w: &World, img: &(ImageReference, Digest)) -> Outcome {
    let bundle = service::trust_bundle::current(&w.app.pool)
        .await
        .unwrap()
        .unwrap()
        .bundle;
    let request = AdmissionRequest {
        image: img.0.clone(),
        digest: None,
        cluster: "prod-eu-1".into(),
        namespace: "payments".into(),
    };
    verifier()
        .decide(&w.app.pool, &bundle, request, Utc::now())
        .await
        .outcome
}

async fn audit_of(w: &World, id: &str) -> Vec<domain::AuditEntry> {
    service::audit::for_target(&w.app.pool, &format!("incident:{id}"))
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_key_compromise_playbook_runs_from_declaration_to_the_closed_review(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    // Before containment the key signs for everything it signed.
    assert_eq!(verdict(&w, &w.before).await, Outcome::Admitted);
    assert_eq!(verdict(&w, &w.after).await, Outcome::Admitted);

    // A viewer can neither declare nor act; nothing is stored.
    let (status, _) = call(
        &w,
        &w.vic,
        "incidents/declare",
        &form(&[
            ("playbook", "key-compromise"),
            ("title", "x"),
            ("severity", "high"),
            ("commander", ADA),
            ("key", "ci-release"),
        ]),
    )
    .await;
    assert_eq!(status, 403);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let id = declare(&w, false).await;
    let incident = get(&w, &id).await;
    assert_eq!(incident["status"], "open");
    assert_eq!(incident["drill"], false);
    assert_eq!(step(&incident, "declare")["ready"], true);
    assert_eq!(step(&incident, "contain")["ready"], false);
    let list = ok(&w, &w.vic, "incidents/list", "").await;
    assert_eq!(list["incidents"][0]["id"], id.as_str());
    assert_eq!(
        list["incidents"][0]["current_steps"][0],
        "Declare the incident"
    );
    assert_eq!(
        list["can_declare"], false,
        "a viewer sees no declaration form"
    );

    let (status, _) = act(&w, &w.vic, &id, "declare", "complete", &[]).await;
    assert_eq!(status, 403, "a viewer cannot act");
    assert_eq!(
        act(&w, &w.ada, &id, "declare", "tick", &[("item", "0")])
            .await
            .0,
        200
    );
    assert_eq!(
        act(&w, &w.ada, &id, "declare", "complete", &[]).await.0,
        200
    );

    // Blast radius: the two signatures at or after T, the attacker's flagged, and where they run.
    let incident = get(&w, &id).await;
    let blast = &step(&incident, "blast-radius")["live"]["BlastRadius"];
    assert_eq!(blast["signatures"], 2, "{blast}");
    assert_eq!(blast["digests"], 2);
    assert_eq!(blast["anomalous_groups"], 1);
    let anomalous: Vec<&Value> = blast["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["anomalies"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(anomalous.len(), 1);
    assert_eq!(anomalous[0]["signer_identity"], "mallory@laptop");
    let workloads: Vec<&str> = blast["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["workload"].as_str().unwrap())
        .collect();
    assert_eq!(workloads.len(), 2, "{workloads:?}");
    assert!(workloads.contains(&"Deployment/miner") && workloads.contains(&"Deployment/api"));
    let csv = w
        .ada
        .get(app.url(&format!("/incidents/{id}/blast-radius.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 + 2, "{csv}");
    assert!(
        csv.contains("mallory@laptop") && csv.contains(",true,"),
        "{csv}"
    );
    let anonymous = crate::helpers::browser()
        .get(app.url(&format!("/incidents/{id}/blast-radius.csv")))
        .send()
        .await
        .unwrap();
    assert_ne!(anonymous.status(), 200, "the CSV needs a session");

    assert_eq!(
        act(&w, &w.ada, &id, "blast-radius", "complete", &[])
            .await
            .0,
        200
    );

    // The two-person rule: containment waits for an approval nobody gives themselves.
    let (status, v) = act(&w, &w.ada, &id, "contain", "complete", &[]).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        act(
            &w,
            &w.ada,
            &id,
            "approve-containment",
            "request_approval",
            &[]
        )
        .await
        .0,
        200
    );
    let (status, v) = act(&w, &w.ada, &id, "approve-containment", "approve", &[]).await;
    assert_eq!(status, 403, "self-approval: {v}");
    assert!(
        v.to_string().contains("nobody approves their own request"),
        "{v}"
    );
    let incident = get(&w, &id).await;
    assert_eq!(
        step(&incident, "approve-containment")["status"],
        "requested"
    );
    let stored: (String, Option<String>) = sqlx::query_as(
        "SELECT status, approved_by FROM incident_steps WHERE incident_id = $1::uuid AND step_id = 'approve-containment'",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, ("requested".into(), None));
    assert_eq!(
        act(&w, &w.vic, &id, "approve-containment", "approve", &[])
            .await
            .0,
        403
    );
    assert_eq!(
        act(&w, &w.bob, &id, "approve-containment", "approve", &[])
            .await
            .0,
        200
    );

    // Contain: compromised since T, published at once.
    let before_version = bundle_version(app).await;
    let (status, v) = act(
        &w,
        &w.ada,
        &id,
        "contain",
        "complete",
        &[("contain_mode", "compromised")],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let contained_version = bundle_version(app).await;
    assert_eq!(contained_version, before_version + 1);
    let key = service::keys::get(&app.pool, "ci-release")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.status, "compromised");
    assert_eq!(key.compromised_since, Some(w.t));
    let incident = get(&w, &id).await;
    assert_eq!(incident["status"], "contained");
    // The verifier refuses what was recorded at or after T and accepts what was recorded before.
    assert_eq!(verdict(&w, &w.before).await, Outcome::Admitted);
    assert_eq!(verdict(&w, &w.after).await, Outcome::Rejected);
    assert_eq!(verdict(&w, &w.attacker).await, Outcome::Rejected);

    // Propagation completes itself when the last active cluster acknowledges the new version.
    let propagation = step(&incident, "propagation");
    assert_eq!(propagation["status"], "pending");
    assert_eq!(propagation["live"]["Propagation"]["behind"], 2);
    heartbeat(app, "prod-eu-1", contained_version).await;
    let incident = get(&w, &id).await;
    assert_eq!(step(&incident, "propagation")["status"], "pending");
    assert_eq!(
        step(&incident, "propagation")["live"]["Propagation"]["acknowledged"],
        1
    );
    heartbeat(app, "prod-us-1", contained_version).await;
    let incident = get(&w, &id).await;
    let propagation = step(&incident, "propagation");
    assert_eq!(propagation["status"], "done", "{propagation}");
    let last_ack: DateTime<Utc> =
        sqlx::query_scalar("SELECT max(bundle_acknowledged_at) FROM clusters")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (propagated_at,): (Option<DateTime<Utc>>,) =
        sqlx::query_as("SELECT propagated_at FROM incidents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(propagated_at, Some(last_ack));

    // An incident with open required steps cannot be closed.
    let (status, v) = call(&w, &w.ada, "incidents/close", &form(&[("incident", &id)])).await;
    assert_eq!(status, 409, "{v}");
    assert!(
        v.to_string().contains("required steps are unfinished"),
        "{v}"
    );

    // Rotate: the replacement key, the policy diff, then the change.
    assert_eq!(
        act(&w, &w.ada, &id, "cut-off-key", "complete", &[]).await.0,
        200
    );
    let new_key = signing_key(2);
    let pem = new_key.public_key().to_pem();
    let (status, v) = act(
        &w,
        &w.ada,
        &id,
        "register-replacement",
        "complete",
        &[
            ("replacement_name", "ci-release-2"),
            ("replacement_pem", &pem),
        ],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let incident = get(&w, &id).await;
    let diff = &step(&incident, "update-policies")["live"]["PolicyDiff"];
    assert_eq!(diff[0]["name"], "payments", "{diff}");
    assert!(
        diff[0]["diff"]
            .as_str()
            .unwrap()
            .contains("+    - ci-release-2")
            || diff[0]["diff"].as_str().unwrap().contains("ci-release-2"),
        "{diff}"
    );
    assert_eq!(
        act(&w, &w.ada, &id, "update-policies", "complete", &[])
            .await
            .0,
        200
    );
    let policy: Value = sqlx::query_scalar("SELECT document FROM policies WHERE name = 'payments'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        policy["spec"]["authorities"]["keys"],
        json!(["ci-release-2"])
    );
    // The re-sign list names what was signed at or after T, with the commands.
    let incident = get(&w, &id).await;
    let resign = &step(&incident, "re-sign")["live"]["Resign"];
    assert_eq!(resign["digests"].as_array().unwrap().len(), 2, "{resign}");
    assert!(resign["digests"][0]["cosign_command"]
        .as_str()
        .unwrap()
        .starts_with("cosign sign --key ci-release-2.key"));
    // Re-signing the legitimate image with the new key makes it admitted again.
    sign(
        app,
        &new_key,
        &w.after,
        "ci/release",
        "runner-1",
        Utc::now(),
    )
    .await;
    assert_eq!(verdict(&w, &w.after).await, Outcome::Admitted);
    assert_eq!(
        act(&w, &w.ada, &id, "re-sign", "complete", &[]).await.0,
        200
    );
    let incident = get(&w, &id).await;
    let recovery = &step(&incident, "recovery")["live"]["Recovery"];
    assert_eq!(recovery["digests"], 2, "{recovery}");
    assert_eq!(recovery["resigned"], 1);
    assert_eq!(recovery["relying_admissions"], 0);
    assert_eq!(
        act(&w, &w.ada, &id, "recovery", "complete", &[]).await.0,
        200
    );

    // The review needs its root cause; then the incident closes.
    let (status, _) = act(&w, &w.ada, &id, "review", "complete", &[]).await;
    assert_eq!(status, 422);
    assert_eq!(
        act(
            &w,
            &w.bob,
            &id,
            "review",
            "complete",
            &[
                ("root_cause", "The key file was committed to a public gist."),
                ("follow_ups", "Move signing to KMS (platform, 2026-12-15)")
            ]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        ok(&w, &w.ada, "incidents/close", &form(&[("incident", &id)])).await,
        Value::Null
    );
    let (status, _) = act(&w, &w.ada, &id, "notify", "skip", &[]).await;
    assert_eq!(status, 409, "a closed incident takes no more moves");

    // The review's figures match the audit log's timestamps.
    let entries = audit_of(&w, &id).await;
    let declared = entries
        .iter()
        .find(|e| e.action == "incident.declared")
        .unwrap();
    let contained = entries
        .iter()
        .find(|e| e.action == "incident.step_completed" && e.detail["step"] == "contain")
        .unwrap();
    let recovered = entries
        .iter()
        .find(|e| e.action == "incident.step_completed" && e.detail["step"] == "recovery")
        .unwrap();
    let auto = entries
        .iter()
        .find(|e| e.detail["automatic"] == true)
        .expect("propagation's own completion is audited");
    assert_eq!(auto.actor, "trustwatch");
    let row: (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT opened_at, contained_at, propagated_at, recovered_at FROM incidents WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.0, declared.at);
    assert_eq!(row.1, contained.at);
    let completed_at = auto.detail["data"]["completed_at"].as_str().unwrap();
    assert_eq!(row.2, DateTime::parse_from_rfc3339(completed_at).unwrap());
    assert_eq!(row.3, recovered.at);
    let md = w
        .ada
        .get(app.url(&format!("/incidents/{id}/review.md")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let human = service::incidents::review::human;
    assert!(
        md.contains(&format!(
            "| Time to contain | {} |",
            human(contained.at - declared.at)
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| Time to recover | {} |",
            human(recovered.at - declared.at)
        )),
        "{md}"
    );
    assert!(
        md.contains("The key file was committed to a public gist."),
        "{md}"
    );
    assert!(md.contains("Approved: Approve containment"), "{md}");
    assert!(md.contains("| bob@example.org |"), "{md}");
    // Every move is on the record: declaration, each step, closing.
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "incident.declared",
        "incident.step_item_ticked",
        "incident.step_approval_requested",
        "incident.step_approved",
        "incident.step_completed",
        "incident.closed",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let list = ok(&w, &w.ada, "incidents/list", "").await;
    assert_eq!(list["incidents"][0]["status"], "closed");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_drill_runs_the_same_steps_and_changes_nothing(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let id = declare(&w, true).await;
    let version = bundle_version(app).await;
    assert_eq!(
        act(&w, &w.ada, &id, "declare", "complete", &[]).await.0,
        200
    );
    assert_eq!(
        act(
            &w,
            &w.ada,
            &id,
            "approve-containment",
            "request_approval",
            &[]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        act(&w, &w.ada, &id, "approve-containment", "approve", &[])
            .await
            .0,
        403,
        "drills keep the two-person rule"
    );
    assert_eq!(
        act(&w, &w.bob, &id, "approve-containment", "approve", &[])
            .await
            .0,
        200
    );
    let (status, message) = act(
        &w,
        &w.ada,
        &id,
        "contain",
        "complete",
        &[("contain_mode", "revoke")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(message.as_str().unwrap().starts_with("DRILL"), "{message}");
    let (status, _) = act(&w, &w.ada, &id, "notify", "complete", &[]).await;
    assert_eq!(status, 200, "a drill's notification is simulated");
    let (status, _) = act(
        &w,
        &w.ada,
        &id,
        "register-replacement",
        "complete",
        &[
            ("replacement_name", "ci-release-2"),
            ("replacement_pem", &signing_key(2).public_key().to_pem()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        act(&w, &w.ada, &id, "update-policies", "complete", &[])
            .await
            .0,
        200
    );
    // Nothing changed: the key, the bundle, the policies, the keys, the deliveries.
    let key = service::keys::get(&app.pool, "ci-release")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.status, "active");
    assert_eq!(bundle_version(app).await, version);
    assert!(service::keys::get(&app.pool, "ci-release-2")
        .await
        .unwrap()
        .is_none());
    assert_eq!(verdict(&w, &w.after).await, Outcome::Admitted);
    let incident = get(&w, &id).await;
    assert_eq!(incident["drill"], true);
    assert_eq!(
        incident["status"], "contained",
        "the clock still measures containment"
    );
    let contain = step(&incident, "contain");
    assert!(
        contain["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f[0] == "simulated" && f[1] == "true"),
        "{contain}"
    );
    let md = w
        .ada
        .get(app.url(&format!("/incidents/{id}/review.md")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(md.starts_with("# DRILL — Post-incident review"), "{md}");
    let entries = audit_of(&w, &id).await;
    assert!(entries
        .iter()
        .all(|e| e.action == "incident.declared" || e.detail["drill"] == true));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn an_emergency_override_needs_a_reason_and_is_flagged_in_the_review(pool: PgPool) {
    let w = world(pool).await;
    let id = declare(&w, false).await;
    assert_eq!(
        act(&w, &w.ada, &id, "declare", "complete", &[]).await.0,
        200
    );
    let (status, _) = act(&w, &w.ada, &id, "contain", "override", &[("reason", "  ")]).await;
    assert_eq!(status, 422, "an override needs a written reason");
    let (status, _) = act(&w, &w.vic, &id, "contain", "override", &[("reason", "no")]).await;
    assert_eq!(status, 403);
    let (status, v) = act(
        &w,
        &w.ada,
        &id,
        "contain",
        "override",
        &[("reason", "Bob is on a plane and the key is signing miners")],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = act(
        &w,
        &w.ada,
        &id,
        "contain",
        "complete",
        &[("contain_mode", "revoke")],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let key = service::keys::get(&w.app.pool, "ci-release")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.status, "revoked");
    assert_eq!(
        verdict(&w, &w.before).await,
        Outcome::Rejected,
        "revoked outright: nothing counts"
    );
    let incident = get(&w, &id).await;
    let approval = step(&incident, "approve-containment");
    assert_eq!(approval["status"], "skipped");
    assert_eq!(
        approval["override_reason"],
        "Bob is on a plane and the key is signing miners"
    );
    let entries = audit_of(&w, &id).await;
    assert!(entries
        .iter()
        .any(|e| e.action == "incident.step_emergency_override"
            && e.detail["emergency_override"] == true));
    let md = w
        .ada
        .get(w.app.url(&format!("/incidents/{id}/review.md")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(md.contains("## Emergency overrides"), "{md}");
    assert!(
        md.contains("**EMERGENCY OVERRIDE of the approval Approve containment: Bob is on a plane"),
        "{md}"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn clusters_of_other_engines_get_the_export_without_the_key_and_keep_propagation_open(
    pool: PgPool,
) {
    let w = world(pool).await;
    let app = &w.app;
    service::clusters::heartbeat(
        &app.pool,
        &service::Actor::cli(),
        &service::clusters::Heartbeat {
            cluster: "edge-kyverno".into(),
            engine: Some("kyverno".into()),
            enforcement_mode: Some("enforce".into()),
            bundle_version: None,
        },
        true,
        Utc::now(),
    )
    .await
    .unwrap();
    let id = declare(&w, false).await;
    assert_eq!(
        act(&w, &w.ada, &id, "declare", "complete", &[]).await.0,
        200
    );
    let incident = get(&w, &id).await;
    let what_if = &step(&incident, "contain")["live"]["Link"]["href"];
    assert!(
        what_if
            .as_str()
            .unwrap()
            .starts_with("/what-if?change=compromise&key=ci-release&since="),
        "{what_if}"
    );
    assert_eq!(
        act(
            &w,
            &w.ada,
            &id,
            "approve-containment",
            "request_approval",
            &[]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        act(&w, &w.bob, &id, "approve-containment", "approve", &[])
            .await
            .0,
        200
    );
    assert_eq!(
        act(&w, &w.ada, &id, "contain", "complete", &[]).await.0,
        200
    );
    let version = bundle_version(app).await;
    heartbeat(app, "prod-eu-1", version).await;
    heartbeat(app, "prod-us-1", version).await;
    let incident = get(&w, &id).await;
    let propagation = step(&incident, "propagation");
    assert_eq!(
        propagation["status"], "pending",
        "a Kyverno cluster cannot acknowledge a bundle: a person confirms the export was applied"
    );
    let live = &propagation["live"]["Propagation"];
    assert_eq!(live["acknowledged"], 2, "{live}");
    assert_eq!(live["other_engine"], 1);
    let kyverno = live["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "edge-kyverno")
        .unwrap();
    assert_eq!(kyverno["state"], "other_engine");
    let yaml = kyverno["export"]["yaml"].as_str().unwrap();
    assert!(yaml.contains("kind: ClusterPolicy"), "{yaml}");
    let pem_body = signing_key(1).public_key().to_pem();
    let pem_line = pem_body.lines().nth(1).unwrap();
    assert!(
        !yaml.contains(pem_line),
        "the compromised key must not be in the export: {yaml}"
    );
    assert!(kyverno["export"]["cache_note"]
        .as_str()
        .unwrap()
        .contains("imageVerifyCacheTTLDuration"));
    // Confirmed by hand once the export is applied.
    assert_eq!(
        act(&w, &w.ada, &id, "propagation", "complete", &[]).await.0,
        200
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn notifying_reaches_each_webhook_once_and_a_drill_sends_nothing(pool: PgPool) {
    let (url, hook) = crate::alerts::receiver(0).await;
    let settings = server::Settings {
        alert_webhooks: vec![secrecy::SecretString::from(url.clone())],
        ..server::Settings::default()
    };
    let webhooks = settings.alert_webhooks().unwrap();
    let w = world_with(pool, settings).await;
    let app = &w.app;
    let drill = declare(&w, true).await;
    let id = declare(&w, false).await;
    for incident in [&drill, &id] {
        assert_eq!(
            act(&w, &w.ada, incident, "declare", "complete", &[])
                .await
                .0,
            200
        );
        assert_eq!(
            act(
                &w,
                &w.ada,
                incident,
                "contain",
                "override",
                &[("reason", "test of notification")]
            )
            .await
            .0,
            200
        );
        let (status, v) = act(&w, &w.ada, incident, "contain", "complete", &[]).await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, message) = act(&w, &w.ada, &drill, "notify", "complete", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(message, "DRILL: no notification left Trustwatch.");
    let (status, message) = act(&w, &w.ada, &id, "notify", "complete", &[]).await;
    assert_eq!(status, 200, "{message}");
    assert!(message
        .as_str()
        .unwrap()
        .starts_with("Notification queued for 1 webhook(s)"));
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT incident_id::text, webhook_origin FROM incident_notifications")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1, "the drill queued nothing: {stored:?}");
    assert_eq!(stored[0].0, id);
    assert!(
        !stored[0].1.contains("secret-token"),
        "webhook URLs are not stored"
    );

    let client = reqwest::Client::new();
    let report = service::incidents::notify::deliver_due(&app.pool, &client, &webhooks, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let again = service::incidents::notify::deliver_due(&app.pool, &client, &webhooks, Utc::now())
        .await
        .unwrap();
    assert_eq!(again.delivered, 0, "delivered once");
    let received = hook.requests.lock().unwrap();
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["kind"], "incident");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["key"], "ci-release");
    assert_eq!(body["key_status"], "compromised");
    assert!(body["bundle_version"].as_i64().is_some(), "{body}");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_shipped_playbook_can_be_declared_and_started(pool: PgPool) {
    let w = world(pool).await;
    // (playbook, key, first step)
    for (playbook, key, first) in [
        ("key-compromise", "ci-release", "declare"),
        ("planned-key-rotation", "ci-release", "plan"),
        ("signer-identity-revocation", "ci-release", "declare"),
        ("rejection-storm", "", "triage"),
    ] {
        let (status, id) = call(
            &w,
            &w.ada,
            "incidents/declare",
            &form(&[
                ("playbook", playbook),
                ("title", &format!("{playbook} drill")),
                ("severity", "medium"),
                ("commander", ADA),
                ("key", key),
                ("drill", "on"),
            ]),
        )
        .await;
        assert_eq!(status, 200, "{playbook}: {id}");
        let id = id.as_str().unwrap();
        let incident = get(&w, id).await;
        assert_eq!(step(&incident, first)["ready"], true, "{playbook}");
        let (status, v) = act(&w, &w.ada, id, first, "complete", &[]).await;
        assert_eq!(status, 200, "{playbook}: {v}");
    }
    // A playbook that acts on a key needs one.
    let (status, v) = call(
        &w,
        &w.ada,
        "incidents/declare",
        &form(&[
            ("playbook", "key-compromise"),
            ("title", "no key"),
            ("severity", "high"),
            ("commander", ADA),
        ]),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    // The Overview marks drills as drills.
    let overview = ok(&w, &w.vic, "overview", "").await;
    let open = overview["open_incidents"].as_array().unwrap();
    assert_eq!(open.len(), 4);
    assert!(open.iter().all(|i| i["drill"] == true));
}
