//! One bundle the export tests share: fixed keys (so the output can be compared byte for byte)
//! in every lifecycle state, and policies that exercise thresholds, groups and overlaps.

use chrono::{DateTime, TimeZone, Utc};

use crate::fingerprint::KeyFingerprint;
use crate::key_status::KeyStatus;
use crate::policy::{KeyGroup, Policy};
use crate::public_key::PublicKey;
use crate::trust_bundle::{
    DefaultAction, TrustBundle, TrustBundleContents, TrustedKey, TrustedKeyRecord,
};

/// Generated with `openssl ecparam -name prime256v1 -genkey | openssl ec -pubout` for these
/// tests; nobody keeps the private half.
pub const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAER4X7ekgMIZWhQpIx95y095U4uTPQ
RJqh3/HpBaLSH7LoPnlt2ObDF/5uUyGYbCsM4ag+qS3s5GnvomMGKuGbLg==
-----END PUBLIC KEY-----
";

/// As [`P256_PEM`], with `-name secp384r1`.
pub const P384_PEM: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE4RJxf9vrfr5KgDQoIR6ibgmXjps620PG
GLQtdONgBfnSTK53nPXcJvlrbb5Z8haP8oD6RmbjHui5TwFXjn/HMbb+gNU7nEwI
SyqGiQyC1vEz3sJQcF34bljoFhiDs2IE
-----END PUBLIC KEY-----
";

pub fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap()
}

pub fn now() -> DateTime<Utc> {
    day(10)
}

fn key(name: &str, public: PublicKey, edit: impl FnOnce(&mut TrustedKeyRecord)) -> TrustedKey {
    let mut record = TrustedKeyRecord {
        name: name.into(),
        fingerprint: public.fingerprint().clone(),
        algorithm: public.algorithm(),
        public_key_pem: public.to_pem(),
        owner_team: "platform".into(),
        status: KeyStatus::Active,
        valid_from: day(1),
        valid_until: None,
        compromised_since: None,
        revoked_at: None,
    };
    edit(&mut record);
    TrustedKey::from_record(&record).unwrap()
}

fn ed25519(seed: u8) -> PublicKey {
    PublicKey::from_ed25519_bytes(&[seed; 32])
}

fn policy(name: &str, spec: &str) -> Policy {
    Policy::from_yaml(&format!(
        "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: {name}}}\nspec:\n{spec}"
    ))
    .unwrap()
}

pub struct Scenario {
    pub bundle: TrustBundle,
}

impl Scenario {
    pub fn new() -> Self {
        Self::with_policies(vec![
            policy(
                "two-of-three",
                "  images: ['reg.example.com/payments/*', 'docker.io/library/nginx']\n  \
                 namespaces: ['prod-*', 'payments']\n  mode: enforce\n  identity: repository\n  \
                 requireDigest: true\n  maxSignatureAge: 90d\n  \
                 authorities: {threshold: 2, keys: [ci-release, security-review], groups: [teams]}\n",
            ),
            policy(
                "everything",
                "  images: ['**']\n  mode: warn\n  identity: ignore\n  \
                 authorities: {threshold: 1, keys: [ci-release, security-review, old-revoked, stolen, expired], groups: [teams]}\n",
            ),
            policy(
                "stolen-only",
                "  images: ['reg.example.com/legacy/**']\n  mode: audit\n  \
                 authorities: {keys: [stolen]}\n",
            ),
            policy(
                "overlapping",
                "  images: ['reg.example.com/shared/*']\n  identity: exact\n  \
                 authorities: {keys: [team-a], groups: [both]}\n",
            ),
        ])
    }

    pub fn with_policies(policies: Vec<Policy>) -> Self {
        let keys = vec![
            key(
                "ci-release",
                PublicKey::parse_pem(P256_PEM).unwrap(),
                |_| {},
            ),
            key("security-review", ed25519(1), |_| {}),
            key("team-a", ed25519(2), |r| r.status = KeyStatus::Retiring),
            key("team-b", PublicKey::parse_pem(P384_PEM).unwrap(), |_| {}),
            key("old-revoked", ed25519(3), |r| {
                r.status = KeyStatus::Revoked;
                r.revoked_at = Some(day(3));
            }),
            key("stolen", ed25519(4), |r| {
                r.status = KeyStatus::Compromised;
                r.compromised_since = Some(day(5));
            }),
            key("expired", ed25519(5), |r| r.valid_until = Some(day(6))),
        ];
        let groups = vec![
            KeyGroup::new("teams", vec!["team-a".into(), "team-b".into()]).unwrap(),
            KeyGroup::new("both", vec!["team-a".into(), "team-b".into()]).unwrap(),
        ];
        let bundle = TrustBundle::new(TrustBundleContents {
            version: 42,
            issued_at: day(9),
            expires_at: day(20),
            keys,
            key_groups: groups,
            policies,
            default_action: DefaultAction::Deny,
        })
        .unwrap();
        Self { bundle }
    }

    pub fn fingerprint(&self, key: &str) -> KeyFingerprint {
        self.bundle.key(key).unwrap().fingerprint().clone()
    }

    pub fn pem(&self, key: &str) -> String {
        self.bundle.key(key).unwrap().public_key().to_pem()
    }
}

/// Parses one exported document back.
pub fn parse(yaml: &str) -> serde_yaml::Value {
    serde_yaml::from_str(yaml).unwrap()
}

/// Every public key PEM anywhere in an exported document, in document order.
pub fn pems_in(yaml: &str) -> Vec<String> {
    fn walk(v: &serde_yaml::Value, out: &mut Vec<String>) {
        match v {
            serde_yaml::Value::String(s) if s.contains("BEGIN PUBLIC KEY") => out.push(s.clone()),
            serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| walk(i, out)),
            serde_yaml::Value::Mapping(m) => m.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&parse(yaml), &mut out);
    out
}
