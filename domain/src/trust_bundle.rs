//! The trust bundle: everything a verifier needs to decide an admission on its own — keys with
//! their lifecycle, key groups, policies and the default for images no policy covers — versioned,
//! with an expiry, and signed by the server's bundle key.
//!
//! The signed form is an envelope `{"bundle": …, "signature": …, "key_fingerprint": …}`. The
//! signature is Ed25519 over the bundle's canonical JSON (object keys sorted, no insignificant
//! whitespace, see `audit::canonical_json`). A verifier re-canonicalizes the `bundle` value it
//! received, so the envelope can be pretty-printed or re-encoded in transit without breaking it,
//! and it never has to trust that our own types serialize back byte for byte.

#[cfg(not(target_arch = "wasm32"))]
use base64::Engine as _;
use chrono::{DateTime, Utc};
#[cfg(not(target_arch = "wasm32"))]
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

use crate::audit::canonical_json;
use crate::fingerprint::KeyFingerprint;
use crate::key_status::KeyStatus;
use crate::policy::{is_valid_key_name, Authority, KeyGroup, Policy, Problem, Problems};
use crate::public_key::{KeyAlgorithm, PublicKey};

/// What happens to an image that no policy covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// Refuse it (`no_matching_policy`): the fail-closed choice.
    Deny,
    /// Admit it with a warning.
    Warn,
    /// Admit it.
    Allow,
}

impl DefaultAction {
    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        match s.trim() {
            "deny" => Ok(Self::Deny),
            "warn" => Ok(Self::Warn),
            "allow" => Ok(Self::Allow),
            other => Err(crate::ParseError::new(format!(
                "{other:?} is not a default action: expected deny, warn or allow"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Warn => "warn",
            Self::Allow => "allow",
        }
    }
}

/// A key as the bundle carries it, field for field (and as the keys table stores it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyRecord {
    pub name: String,
    pub fingerprint: KeyFingerprint,
    pub algorithm: KeyAlgorithm,
    pub public_key_pem: String,
    pub owner_team: String,
    pub status: KeyStatus,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub compromised_since: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key the bundle trusts (or explicitly distrusts), its public key already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    name: String,
    public_key: PublicKey,
    owner_team: String,
    status: KeyStatus,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    compromised_since: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TrustedKey {
    /// Checks a record: the PEM parses, and its fingerprint and algorithm are the ones recorded
    /// (a mismatch means the record was edited by hand or corrupted).
    pub fn from_record(record: &TrustedKeyRecord) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        if !is_valid_key_name(&record.name) {
            problems.push(Problem::new(
                "name",
                format!("{:?} is not a key name", record.name),
            ));
        }
        let public_key = match PublicKey::parse_pem(&record.public_key_pem) {
            Ok(k) => Some(k),
            Err(e) => {
                problems.push(Problem::new("public_key_pem", e.to_string()));
                None
            }
        };
        if let Some(key) = &public_key {
            if key.fingerprint() != &record.fingerprint {
                problems.push(Problem::new(
                    "fingerprint",
                    format!(
                        "{} is not the fingerprint of the public key ({})",
                        record.fingerprint,
                        key.fingerprint()
                    ),
                ));
            }
            if key.algorithm() != record.algorithm {
                problems.push(Problem::new(
                    "algorithm",
                    format!(
                        "the public key is {}, not {}",
                        key.algorithm(),
                        record.algorithm
                    ),
                ));
            }
        }
        if record.status == KeyStatus::Compromised && record.compromised_since.is_none() {
            problems.push(Problem::new(
                "compromised_since",
                "a compromised key needs the time it was compromised since",
            ));
        }
        if record.valid_until.is_some_and(|u| u <= record.valid_from) {
            problems.push(Problem::new("valid_until", "must be after valid_from"));
        }
        match public_key {
            Some(public_key) if problems.is_empty() => Ok(Self {
                name: record.name.clone(),
                public_key,
                owner_team: record.owner_team.clone(),
                status: record.status,
                valid_from: record.valid_from,
                valid_until: record.valid_until,
                compromised_since: record.compromised_since,
                revoked_at: record.revoked_at,
            }),
            _ => Err(Problems(problems)),
        }
    }

    pub fn to_record(&self) -> TrustedKeyRecord {
        TrustedKeyRecord {
            name: self.name.clone(),
            fingerprint: self.public_key.fingerprint().clone(),
            algorithm: self.public_key.algorithm(),
            public_key_pem: self.public_key.to_pem(),
            owner_team: self.owner_team.clone(),
            status: self.status,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            compromised_since: self.compromised_since,
            revoked_at: self.revoked_at,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    pub fn fingerprint(&self) -> &KeyFingerprint {
        self.public_key.fingerprint()
    }

    pub fn owner_team(&self) -> &str {
        &self.owner_team
    }

    pub fn status(&self) -> KeyStatus {
        self.status
    }

    pub fn valid_from(&self) -> DateTime<Utc> {
        self.valid_from
    }

    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.valid_until
    }

    pub fn compromised_since(&self) -> Option<DateTime<Utc>> {
        self.compromised_since
    }

    pub fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.revoked_at
    }

    /// Whether `at` lies in `[valid_from, valid_until)`.
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        at >= self.valid_from && self.valid_until.is_none_or(|u| at < u)
    }

    /// Whether someone may sign with this key at `now`: active, in its window, never compromised.
    /// Remediation only ever suggests such keys.
    pub fn may_sign_at(&self, now: DateTime<Utc>) -> bool {
        self.status == KeyStatus::Active
            && self.compromised_since.is_none()
            && self.is_valid_at(now)
    }
}

impl Serialize for TrustedKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_record().serialize(s)
    }
}

impl<'de> Deserialize<'de> for TrustedKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let record = TrustedKeyRecord::deserialize(d)?;
        Self::from_record(&record).map_err(serde::de::Error::custom)
    }
}

/// The parts a bundle is made of, before they are checked against each other.
#[derive(Debug, Clone)]
pub struct TrustBundleContents {
    pub version: u64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub keys: Vec<TrustedKey>,
    pub key_groups: Vec<KeyGroup>,
    pub policies: Vec<Policy>,
    pub default_action: DefaultAction,
}

/// A consistent bundle: unique names and fingerprints, every group member and every authority a
/// policy names present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BundleWire", into = "BundleWire")]
pub struct TrustBundle {
    version: u64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    keys: Vec<TrustedKey>,
    key_groups: Vec<KeyGroup>,
    policies: Vec<Policy>,
    default_action: DefaultAction,
}

/// The JSON shape of a bundle.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleWire {
    version: u64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    keys: Vec<TrustedKey>,
    key_groups: Vec<KeyGroup>,
    policies: Vec<Policy>,
    default_action: DefaultAction,
}

impl TryFrom<BundleWire> for TrustBundle {
    type Error = Problems;
    fn try_from(w: BundleWire) -> Result<Self, Problems> {
        TrustBundle::new(TrustBundleContents {
            version: w.version,
            issued_at: w.issued_at,
            expires_at: w.expires_at,
            keys: w.keys,
            key_groups: w.key_groups,
            policies: w.policies,
            default_action: w.default_action,
        })
    }
}

impl From<TrustBundle> for BundleWire {
    fn from(b: TrustBundle) -> Self {
        BundleWire {
            version: b.version,
            issued_at: b.issued_at,
            expires_at: b.expires_at,
            keys: b.keys,
            key_groups: b.key_groups,
            policies: b.policies,
            default_action: b.default_action,
        }
    }
}

impl TrustBundle {
    /// Checks the parts against each other and reports every inconsistency.
    pub fn new(c: TrustBundleContents) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        if c.expires_at <= c.issued_at {
            problems.push(Problem::new("expires_at", "must be after issued_at"));
        }
        for (i, key) in c.keys.iter().enumerate() {
            let earlier = &c.keys[..i];
            if earlier.iter().any(|k| k.name == key.name) {
                problems.push(Problem::new(
                    format!("keys[{i}].name"),
                    format!("another key is also named {:?}", key.name),
                ));
            }
            if let Some(k) = earlier
                .iter()
                .find(|k| k.fingerprint() == key.fingerprint())
            {
                problems.push(Problem::new(
                    format!("keys[{i}].fingerprint"),
                    format!(
                        "the same public key is already in the bundle as {:?}",
                        k.name
                    ),
                ));
            }
        }
        let has_key = |name: &str| c.keys.iter().any(|k| k.name == name);
        for (i, group) in c.key_groups.iter().enumerate() {
            if c.key_groups[..i].iter().any(|g| g.name() == group.name()) {
                problems.push(Problem::new(
                    format!("key_groups[{i}].name"),
                    format!("another key group is also named {:?}", group.name()),
                ));
            }
            for (j, key) in group.keys().iter().enumerate() {
                if !has_key(key) {
                    problems.push(Problem::new(
                        format!("key_groups[{i}].keys[{j}]"),
                        format!("no key named {key:?} is in the bundle"),
                    ));
                }
            }
        }
        for (i, policy) in c.policies.iter().enumerate() {
            if c.policies[..i].iter().any(|p| p.name() == policy.name()) {
                problems.push(Problem::new(
                    format!("policies[{i}].metadata.name"),
                    format!("another policy is also named {:?}", policy.name()),
                ));
            }
            for authority in policy.authorities() {
                let missing = match authority {
                    Authority::Key(k) => (!has_key(k)).then(|| format!("no key named {k:?}")),
                    Authority::Group(g) => (!c.key_groups.iter().any(|kg| kg.name() == g))
                        .then(|| format!("no key group named {g:?}")),
                };
                if let Some(missing) = missing {
                    problems.push(Problem::new(
                        format!("policies[{i}].spec.authorities"),
                        format!(
                            "policy {} trusts {missing}, which is not in the bundle",
                            policy.name()
                        ),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(Self {
            version: c.version,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            keys: c.keys,
            key_groups: c.key_groups,
            policies: c.policies,
            default_action: c.default_action,
        })
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    pub fn key_groups(&self) -> &[KeyGroup] {
        &self.key_groups
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn default_action(&self) -> DefaultAction {
        self.default_action
    }

    pub fn key(&self, name: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    pub fn key_by_fingerprint(&self, fingerprint: &KeyFingerprint) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.fingerprint() == fingerprint)
    }

    pub fn key_group(&self, name: &str) -> Option<&KeyGroup> {
        self.key_groups.iter().find(|g| g.name() == name)
    }

    /// A cut-off verifier must stop trusting stale data: from `expires_at` on, the bundle is
    /// expired.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// The bytes that are signed: canonical JSON with sorted keys.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, BundleError> {
        let value = serde_json::to_value(self).map_err(|e| BundleError::Encode(e.to_string()))?;
        Ok(canonical_json(&value).into_bytes())
    }
}

/// Why a signed bundle cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle could not be encoded: {0}")]
    Encode(String),
    #[error("the bundle signing key must be a 32-byte Ed25519 seed")]
    BadSigningKey,
    #[error("the bundle is signed by key {0}, which this verifier does not trust")]
    UnknownSigner(KeyFingerprint),
    #[error("the bundle's trusted signing key {0} is not an Ed25519 key")]
    NotEd25519(KeyFingerprint),
    #[error("the bundle signature is not valid base64")]
    MalformedSignature,
    #[error(
        "the bundle signature does not verify: the bundle was altered or signed by another key"
    )]
    BadSignature,
    #[error("the signed bundle is not a valid trust bundle: {0}")]
    Invalid(String),
    #[error("trust bundle version {version} expired at {expires_at}; fetch a newer one")]
    Expired {
        version: u64,
        expires_at: DateTime<Utc>,
    },
}

#[cfg(not(target_arch = "wasm32"))]
/// The server's bundle-signing key. It implements neither `Serialize` nor a `Debug` that shows
/// the key, so it cannot leak into a log or a response.
pub struct BundleSigningKey {
    pair: Ed25519KeyPair,
}

#[cfg(not(target_arch = "wasm32"))]
impl BundleSigningKey {
    /// The key from its 32-byte Ed25519 seed (the private key as configured).
    pub fn from_seed(seed: &[u8]) -> Result<Self, BundleError> {
        let pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| BundleError::BadSigningKey)?;
        Ok(Self { pair })
    }

    pub fn public_key(&self) -> PublicKey {
        let bytes: [u8; 32] = self
            .pair
            .public_key()
            .as_ref()
            .try_into()
            // An Ed25519 public key is always 32 bytes.
            .unwrap_or([0; 32]);
        PublicKey::from_ed25519_bytes(&bytes)
    }

    pub fn sign(&self, bundle: &TrustBundle) -> Result<SignedTrustBundle, BundleError> {
        let bytes = bundle.canonical_bytes()?;
        let signature = self.pair.sign(&bytes);
        let value = serde_json::to_value(bundle).map_err(|e| BundleError::Encode(e.to_string()))?;
        Ok(SignedTrustBundle {
            bundle: value,
            signature: base64::engine::general_purpose::STANDARD.encode(signature.as_ref()),
            key_fingerprint: self.public_key().fingerprint().clone(),
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl std::fmt::Debug for BundleSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BundleSigningKey({})", self.public_key().fingerprint())
    }
}

/// The envelope clusters fetch: the bundle, the base64 Ed25519 signature over its canonical JSON,
/// and the fingerprint of the key that signed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTrustBundle {
    pub bundle: serde_json::Value,
    pub signature: String,
    pub key_fingerprint: KeyFingerprint,
}

#[cfg(not(target_arch = "wasm32"))]
impl SignedTrustBundle {
    /// Checks the signature with one of `trusted` (several during a rotation of the bundle key),
    /// then the bundle's consistency, then its expiry, and returns the bundle.
    pub fn verify(
        &self,
        trusted: &[PublicKey],
        now: DateTime<Utc>,
    ) -> Result<TrustBundle, BundleError> {
        let key = trusted
            .iter()
            .find(|k| k.fingerprint() == &self.key_fingerprint)
            .ok_or_else(|| BundleError::UnknownSigner(self.key_fingerprint.clone()))?;
        // The bundle key is Ed25519 by design; refusing others keeps the check to one algorithm.
        if key.algorithm() != KeyAlgorithm::Ed25519 {
            return Err(BundleError::NotEd25519(key.fingerprint().clone()));
        }
        let signature = base64::engine::general_purpose::STANDARD
            .decode(self.signature.trim())
            .map_err(|_| BundleError::MalformedSignature)?;
        key.verify(canonical_json(&self.bundle).as_bytes(), &signature)
            .map_err(|_| BundleError::BadSignature)?;
        let bundle: TrustBundle = serde_json::from_value(self.bundle.clone())
            .map_err(|e| BundleError::Invalid(e.to_string()))?;
        if bundle.is_expired(now) {
            return Err(BundleError::Expired {
                version: bundle.version,
                expires_at: bundle.expires_at,
            });
        }
        Ok(bundle)
    }
}

#[cfg(test)]
pub(crate) mod test_bundle {
    //! Building bundles in tests with little ceremony.

    use super::*;
    use crate::public_key::test_keys::TestSigner;
    use chrono::TimeZone;

    pub fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap()
    }

    pub fn key(name: &str, signer: &TestSigner) -> TrustedKey {
        TrustedKey::from_record(&TrustedKeyRecord {
            name: name.into(),
            fingerprint: signer.public_key().fingerprint().clone(),
            algorithm: signer.public_key().algorithm(),
            public_key_pem: signer.public_key().to_pem(),
            owner_team: format!("team-{name}"),
            status: KeyStatus::Active,
            valid_from: t(1),
            valid_until: None,
            compromised_since: None,
            revoked_at: None,
        })
        .unwrap()
    }

    /// The same key with its record changed by `edit`.
    pub fn with(key: &TrustedKey, edit: impl FnOnce(&mut TrustedKeyRecord)) -> TrustedKey {
        let mut record = key.to_record();
        edit(&mut record);
        TrustedKey::from_record(&record).unwrap()
    }

    pub fn bundle(
        keys: Vec<TrustedKey>,
        groups: Vec<KeyGroup>,
        policies: Vec<Policy>,
        default_action: DefaultAction,
    ) -> TrustBundle {
        TrustBundle::new(TrustBundleContents {
            version: 7,
            issued_at: t(1),
            expires_at: t(28),
            keys,
            key_groups: groups,
            policies,
            default_action,
        })
        .unwrap()
    }

    pub fn policy(yaml_spec: &str) -> Policy {
        Policy::from_yaml(&format!(
            "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: prod-images}}\nspec:\n{yaml_spec}"
        ))
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_bundle::*;
    use super::*;
    use crate::public_key::test_keys::TestSigner;

    fn sample() -> TrustBundle {
        let a = key("ci-release", &TestSigner::p256());
        let b = with(&key("security-review", &TestSigner::ed25519()), |r| {
            r.status = KeyStatus::Compromised;
            r.compromised_since = Some(t(5));
        });
        let group = KeyGroup::new("release-team", vec!["ci-release".into()]).unwrap();
        let p = policy(
            "  images: ['reg.io/**']\n  authorities: {threshold: 2, keys: [ci-release, security-review], groups: [release-team]}\n",
        );
        bundle(vec![a, b], vec![group], vec![p], DefaultAction::Deny)
    }

    #[test]
    fn json_round_trips_and_canonical_bytes_are_stable() {
        let b = sample();
        let json = serde_json::to_string_pretty(&b).unwrap();
        let again: TrustBundle = serde_json::from_str(&json).unwrap();
        assert_eq!(again, b);
        assert_eq!(
            again.canonical_bytes().unwrap(),
            b.canonical_bytes().unwrap()
        );
        let canonical = String::from_utf8(b.canonical_bytes().unwrap()).unwrap();
        assert!(
            canonical.starts_with(r#"{"default_action":"deny","expires_at":"#),
            "{canonical}"
        );
        assert!(!canonical.contains('\n') || canonical.contains("\\n"));
    }

    #[test]
    fn signs_and_verifies() {
        let signer = BundleSigningKey::from_seed(&[7; 32]).unwrap();
        let b = sample();
        let signed = signer.sign(&b).unwrap();
        let trusted = [signer.public_key()];
        assert_eq!(signed.verify(&trusted, t(2)).unwrap(), b);

        // Whitespace and key order in transit do not matter.
        let pretty = serde_json::to_string_pretty(&signed).unwrap();
        let reread: SignedTrustBundle = serde_json::from_str(&pretty).unwrap();
        assert_eq!(reread.verify(&trusted, t(2)).unwrap(), b);

        // Any change to the content does.
        let mut altered = signed.clone();
        altered.bundle["default_action"] = "allow".into();
        assert_eq!(
            altered.verify(&trusted, t(2)),
            Err(BundleError::BadSignature)
        );
        let mut altered = signed.clone();
        altered.bundle["version"] = 8.into();
        assert_eq!(
            altered.verify(&trusted, t(2)),
            Err(BundleError::BadSignature)
        );

        let other = BundleSigningKey::from_seed(&[8; 32]).unwrap();
        assert!(matches!(
            signed.verify(&[other.public_key()], t(2)),
            Err(BundleError::UnknownSigner(_))
        ));
        let mut forged = other.sign(&b).unwrap();
        forged.key_fingerprint = signer.public_key().fingerprint().clone();
        assert_eq!(
            forged.verify(&trusted, t(2)),
            Err(BundleError::BadSignature)
        );
    }

    #[test]
    fn expires() {
        let signer = BundleSigningKey::from_seed(&[7; 32]).unwrap();
        let signed = signer.sign(&sample()).unwrap();
        let trusted = [signer.public_key()];
        assert!(signed.verify(&trusted, t(27)).is_ok());
        assert!(matches!(
            signed.verify(&trusted, t(28)),
            Err(BundleError::Expired { version: 7, .. })
        ));
        assert!(!sample().is_expired(t(27)));
        assert!(sample().is_expired(t(28)));
    }

    #[test]
    fn signing_keys_are_seeds() {
        assert!(BundleSigningKey::from_seed(&[1; 31]).is_err());
        let k = BundleSigningKey::from_seed(&[1; 32]).unwrap();
        assert_eq!(k.public_key().algorithm(), KeyAlgorithm::Ed25519);
        assert!(!format!("{k:?}").contains("0101"));
    }

    #[test]
    fn refuses_inconsistent_bundles() {
        let a = key("a", &TestSigner::p256());
        let a_again = with(&a, |r| r.name = "a2".into());
        let group = KeyGroup::new("g", vec!["missing".into()]).unwrap();
        let p = policy("  images: ['**']\n  authorities: {keys: [nobody], groups: [nogroup]}\n");
        let err = TrustBundle::new(TrustBundleContents {
            version: 1,
            issued_at: t(2),
            expires_at: t(2),
            keys: vec![a.clone(), a.clone(), a_again],
            key_groups: vec![group.clone(), group],
            policies: vec![p.clone(), p],
            default_action: DefaultAction::Deny,
        })
        .unwrap_err();
        for path in [
            "expires_at",
            "keys[1].name",
            "keys[1].fingerprint",
            "keys[2].fingerprint",
            "key_groups[0].keys[0]",
            "key_groups[1].name",
            "policies[0].spec.authorities",
            "policies[1].metadata.name",
        ] {
            assert!(err.has(path), "no problem at {path}: {err}");
        }
    }

    #[test]
    fn refuses_key_records_that_contradict_their_pem() {
        let a = key("a", &TestSigner::p256());
        let mut r = a.to_record();
        r.fingerprint = KeyFingerprint::of_spki_der(b"other");
        r.algorithm = KeyAlgorithm::Rsa;
        r.status = KeyStatus::Compromised;
        r.valid_until = Some(r.valid_from);
        let err = TrustedKey::from_record(&r).unwrap_err();
        for path in [
            "fingerprint",
            "algorithm",
            "compromised_since",
            "valid_until",
        ] {
            assert!(err.has(path), "no problem at {path}: {err}");
        }
        r.public_key_pem = "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----".into();
        assert!(TrustedKey::from_record(&r)
            .unwrap_err()
            .has("public_key_pem"));
    }

    #[test]
    fn key_windows() {
        let a = with(&key("a", &TestSigner::p256()), |r| {
            r.valid_until = Some(t(10))
        });
        assert!(!a.is_valid_at(t(1) - chrono::TimeDelta::seconds(1)));
        assert!(a.is_valid_at(t(1)));
        assert!(a.is_valid_at(t(10) - chrono::TimeDelta::seconds(1)));
        assert!(!a.is_valid_at(t(10)));
        assert!(a.may_sign_at(t(5)));
        let retiring = with(&a, |r| r.status = KeyStatus::Retiring);
        assert!(!retiring.may_sign_at(t(5)));
    }
}
