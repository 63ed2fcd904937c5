//! Exporting the published bundle's policies for other engines, against a real database: keys
//! imported and marked compromised the way an incident does it, policies applied as a file.
#![allow(clippy::unwrap_used)]

use chrono::{TimeDelta, Utc};
use domain::policy_export::ExportFormat;
use domain::{BundleSigningKey, DefaultAction, KeyStatus};
use service::keys::KeyImport;
use service::policies::ApplyOptions;
use service::policy_export;
use service::trust_bundle::Publisher;
use service::{Actor, ServiceError};
use sqlx::PgPool;

fn publisher() -> Publisher {
    Publisher::new(
        BundleSigningKey::from_seed(&[9; 32]).unwrap(),
        TimeDelta::hours(24),
        DefaultAction::Deny,
    )
}

/// A distinct Ed25519 public key per seed.
fn pem(seed: u8) -> String {
    BundleSigningKey::from_seed(&[seed; 32])
        .unwrap()
        .public_key()
        .to_pem()
}

async fn import(pool: &PgPool, publisher: &Publisher, name: &str, seed: u8) -> String {
    let change = service::keys::import(
        pool,
        &Actor::cli(),
        publisher,
        &KeyImport {
            name: name.into(),
            public_key_pem: pem(seed),
            owner_team: "platform".into(),
            custody: "kms".into(),
            custody_uri: None,
            valid_from: Some(Utc::now() - TimeDelta::days(30)),
            valid_until: None,
            rotation_period_days: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    change.key.fingerprint
}

const POLICIES: &str = "\
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: payments}
spec:
  images: ['reg.example.com/payments/*']
  authorities: {threshold: 1, keys: [ci-release, backup-release]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: legacy}
spec:
  images: ['reg.example.com/legacy/**']
  mode: warn
  authorities: {keys: [backup-release]}
";

async fn setup(pool: &PgPool) -> (Publisher, String, String) {
    let publisher = publisher();
    service::trust_bundle::ensure_current(pool, &publisher, Utc::now())
        .await
        .unwrap();
    let ci = import(pool, &publisher, "ci-release", 1).await;
    let backup = import(pool, &publisher, "backup-release", 2).await;
    service::policies::apply(
        pool,
        &Actor::cli(),
        &publisher,
        POLICIES,
        ApplyOptions::default(),
    )
    .await
    .unwrap();
    (publisher, ci, backup)
}

fn parse(yaml: &str) -> serde_yaml::Value {
    serde_yaml::from_str(yaml).unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn exports_the_published_policies_without_the_named_key(pool: PgPool) {
    let (_, ci, backup) = setup(&pool).await;

    let all = policy_export::export(&pool, ExportFormat::KyvernoClusterPolicy, &[])
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["tw-legacy", "tw-payments"]);
    let payments = parse(&all[1].yaml);
    let entries = &payments["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"];
    assert_eq!(entries.as_sequence().unwrap().len(), 2);

    // The incident: leave out backup-release by fingerprint, upper case and spaced as pasted.
    let without = [format!(
        " {} ",
        backup.to_uppercase().replace("SHA256", "sha256")
    )];
    let exported = policy_export::export(&pool, ExportFormat::KyvernoClusterPolicy, &without)
        .await
        .unwrap();
    let payments = parse(&exported[1].yaml);
    let entries = payments["spec"]["rules"][0]["verifyImages"][0]["attestors"][0]["entries"]
        .as_sequence()
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["keys"]["publicKeys"].as_str(),
        Some(pem(1).as_str())
    );
    assert!(exported[1].yaml.contains("# Left out key backup-release"));
    // legacy trusted only backup-release: it now refuses everything it covers.
    assert!(
        exported[0].yaml.contains("# FAIL CLOSED"),
        "{}",
        exported[0].yaml
    );
    assert!(!exported[0].yaml.contains("BEGIN PUBLIC KEY"));

    let text = policy_export::export_yaml(&pool, ExportFormat::PolicyController, &without)
        .await
        .unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0]["spec"]["authorities"][0]["static"]["action"],
        "fail"
    );
    assert_eq!(
        docs[1]["spec"]["authorities"][0]["key"]["data"].as_str(),
        Some(pem(1).as_str())
    );
    assert!(!ci.is_empty());
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_compromised_key_is_left_out_without_being_named(pool: PgPool) {
    let (publisher, _, _) = setup(&pool).await;
    let now = Utc::now();
    service::keys::set_status(
        &pool,
        &Actor::cli(),
        &publisher,
        "ci-release",
        KeyStatus::Compromised,
        Some(now - TimeDelta::hours(2)),
        now,
    )
    .await
    .unwrap();
    let exported = policy_export::export(&pool, ExportFormat::KyvernoImageValidatingPolicy, &[])
        .await
        .unwrap();
    let payments = parse(&exported[1].yaml);
    let attestors = payments["spec"]["attestors"].as_sequence().unwrap();
    assert_eq!(attestors.len(), 1);
    assert_eq!(
        attestors[0]["cosign"]["key"]["data"].as_str(),
        Some(pem(2).as_str())
    );
    assert!(exported[1].yaml.contains("# Left out key ci-release"));
    assert!(exported[1].yaml.contains("compromised since"));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn refuses_fingerprints_that_name_no_key(pool: PgPool) {
    setup(&pool).await;
    let unknown = format!("sha256:{}", "ab".repeat(32));
    let err = policy_export::export(&pool, ExportFormat::PolicyController, &[unknown])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Invalid(m) if m.contains("no key in trust bundle")),
        "{err}"
    );
    let err = policy_export::export(&pool, ExportFormat::PolicyController, &["nope".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err}");
}
