//! Signing keys' public halves, as people paste them: PEM-encoded SubjectPublicKeyInfo
//! (`-----BEGIN PUBLIC KEY-----`), the form `cosign generate-key-pair` and `openssl pkey -pubout`
//! write.
//!
//! A key is parsed once into the exact bytes `ring` needs, so checking a signature is one call
//! with no further parsing of ASN.1: the admission path checks many signatures per second.
//!
//! Verification is left out of WebAssembly builds: `ring` needs a C compiler for wasm32, and the
//! browser only ever shows keys, never checks signatures.

#[cfg(not(target_arch = "wasm32"))]
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde::{Deserialize, Serialize};
use spki::der::asn1::{ObjectIdentifier, UintRef};
use spki::der::{pem, Decode, Reader, SliceReader};
use spki::SubjectPublicKeyInfoRef;
use std::fmt;

use crate::fingerprint::KeyFingerprint;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// The SPKI DER of an Ed25519 key is this fixed header followed by the 32 key bytes (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// RSA keys shorter than this are refused; `ring` would refuse them at every verification anyway.
pub const MIN_RSA_BITS: usize = 2048;
pub const MAX_RSA_BITS: usize = 8192;

/// The signature algorithms Trustwatch verifies. The text forms are the ones the database allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256: cosign's default key type.
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    /// ECDSA over P-384 with SHA-384, the hash sigstore pairs with this curve.
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    /// Ed25519 over the message itself (no pre-hash), as cosign signs with it.
    #[serde(rename = "ed25519")]
    Ed25519,
    /// RSA, PKCS#1 v1.5 padding with SHA-256, 2048 to 8192 bits.
    #[serde(rename = "rsa")]
    Rsa,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 4] = [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Rsa => "rsa",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| crate::ParseError::new(format!("unknown key algorithm {s:?}")))
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn ring_algorithm(self) -> &'static dyn VerificationAlgorithm {
        match self {
            // cosign's ECDSA signatures are ASN.1 DER, not the fixed-width r||s form.
            KeyAlgorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
            KeyAlgorithm::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
            KeyAlgorithm::Ed25519 => &signature::ED25519,
            KeyAlgorithm::Rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a public key Trustwatch can use. Messages are meant for the person who
/// pasted the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block found: paste the public key including its \"-----BEGIN PUBLIC KEY-----\" line")]
    NotPem,
    #[error("this is a private key ({label}): paste only the public key (for example the .pub file of `cosign generate-key-pair`, or `openssl pkey -pubout`); the private key should not leave its owner")]
    PrivateKey { label: String },
    #[error("this is a certificate: extract its public key with `openssl x509 -pubkey -noout` and paste that")]
    Certificate,
    #[error("this is a PKCS#1 RSA public key: convert it with `openssl rsa -RSAPublicKey_in -pubout` and paste the \"PUBLIC KEY\" form")]
    Pkcs1RsaPublicKey,
    #[error("expected a \"PUBLIC KEY\" PEM block, found {label:?}")]
    UnexpectedLabel { label: String },
    #[error("the PEM text is damaged: {0}")]
    BadPem(String),
    #[error("the public key is not valid SubjectPublicKeyInfo DER: {0}")]
    BadDer(String),
    #[error("unsupported key algorithm {0}: use ECDSA P-256 (cosign's default), ECDSA P-384, Ed25519 or RSA")]
    UnsupportedAlgorithm(String),
    #[error("unsupported elliptic curve {0}: use P-256 (cosign's default) or P-384")]
    UnsupportedCurve(String),
    #[error("the elliptic-curve point is compressed or malformed: export the key in uncompressed form (`openssl ec -pubout -conv_form uncompressed`)")]
    BadEcPoint,
    #[error("the Ed25519 key must be 32 bytes, found {0}")]
    BadEd25519Length(usize),
    #[error("RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits; this one has {0}")]
    RsaKeySize(usize),
}

/// The signature does not verify under the key: wrong key, altered payload or a damaged
/// signature. The three cannot be told apart, and it does not matter which it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify under this key")]
pub struct SignatureError;

/// A parsed public key: its algorithm, its SPKI DER (what the fingerprint hashes) and the bytes
/// `ring` verifies with.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki_der: Vec<u8>,
    /// The SPKI's subjectPublicKey bits: an uncompressed EC point, the 32 Ed25519 key bytes or a
    /// PKCS#1 RSAPublicKey — exactly what `ring::signature::UnparsedPublicKey` expects.
    key_bytes: Vec<u8>,
    fingerprint: KeyFingerprint,
}

impl PublicKey {
    /// Parses one PEM `PUBLIC KEY` block. Whitespace around it is ignored; anything else is not.
    pub fn parse_pem(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let label = pem_label(text).ok_or(KeyError::NotPem)?;
        match label {
            "PUBLIC KEY" => {}
            "RSA PUBLIC KEY" => return Err(KeyError::Pkcs1RsaPublicKey),
            l if l.contains("PRIVATE KEY") => {
                return Err(KeyError::PrivateKey {
                    label: l.to_owned(),
                })
            }
            l if l.contains("CERTIFICATE") => return Err(KeyError::Certificate),
            l => {
                return Err(KeyError::UnexpectedLabel {
                    label: l.to_owned(),
                })
            }
        }
        // Keys pasted from Windows tools arrive with CRLF line ends; the PEM decoder accepts both.
        let (_, der) =
            pem::decode_vec(text.as_bytes()).map_err(|e| KeyError::BadPem(e.to_string()))?;
        Self::from_spki_der(&der)
    }

    /// Parses a DER-encoded SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki =
            SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::BadDer(e.to_string()))?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::BadDer("the key bit string has unused bits".to_owned()))?;
        let oid = spki.algorithm.oid;
        let algorithm = if oid == ID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters_oid()
                .map_err(|_| KeyError::BadDer("the EC key names no curve".to_owned()))?;
            let (algorithm, point_len) = if curve == SECP256R1 {
                (KeyAlgorithm::EcdsaP256, 65)
            } else if curve == SECP384R1 {
                (KeyAlgorithm::EcdsaP384, 97)
            } else {
                return Err(KeyError::UnsupportedCurve(curve_name(curve)));
            };
            // ring takes only uncompressed points (0x04 || x || y); it checks the point is on
            // the curve when verifying, so a bad point can never verify anything.
            if key_bytes.len() != point_len || key_bytes.first() != Some(&0x04) {
                return Err(KeyError::BadEcPoint);
            }
            algorithm
        } else if oid == ID_ED25519 {
            if spki.algorithm.parameters.is_some() {
                return Err(KeyError::BadDer(
                    "Ed25519 keys carry no algorithm parameters".to_owned(),
                ));
            }
            if key_bytes.len() != 32 {
                return Err(KeyError::BadEd25519Length(key_bytes.len()));
            }
            KeyAlgorithm::Ed25519
        } else if oid == RSA_ENCRYPTION {
            let bits = rsa_modulus_bits(key_bytes)?;
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(KeyError::RsaKeySize(bits));
            }
            KeyAlgorithm::Rsa
        } else if oid == RSASSA_PSS {
            return Err(KeyError::UnsupportedAlgorithm(
                "RSASSA-PSS (only PKCS#1 v1.5 RSA keys are supported)".to_owned(),
            ));
        } else {
            return Err(KeyError::UnsupportedAlgorithm(algorithm_name(oid)));
        };
        Ok(Self {
            algorithm,
            spki_der: der.to_vec(),
            key_bytes: key_bytes.to_vec(),
            fingerprint: KeyFingerprint::of_spki_der(der),
        })
    }

    /// The public key of an Ed25519 key pair, from its 32 raw bytes.
    pub fn from_ed25519_bytes(bytes: &[u8; 32]) -> Self {
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(bytes);
        Self {
            algorithm: KeyAlgorithm::Ed25519,
            fingerprint: KeyFingerprint::of_spki_der(&der),
            spki_der: der,
            key_bytes: bytes.to_vec(),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// `sha256:` and the hex SHA-256 of the SPKI DER, the same as `cosign` and `openssl` compute.
    pub fn fingerprint(&self) -> &KeyFingerprint {
        &self.fingerprint
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key in the canonical PEM form: LF line ends, 64 base64 characters per line.
    pub fn to_pem(&self) -> String {
        pem::encode_string("PUBLIC KEY", pem::LineEnding::LF, &self.spki_der)
            // Encoding DER we hold into PEM cannot fail; an empty string would fail to parse
            // later rather than pass anything.
            .unwrap_or_default()
    }

    /// Checks `signature` over the exact bytes of `message`. ECDSA signatures are ASN.1 DER, as
    /// cosign writes them.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        UnparsedPublicKey::new(self.algorithm.ring_algorithm(), &self.key_bytes)
            .verify(message, signature)
            .map_err(|_| SignatureError)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm, self.fingerprint)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_pem())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pem = String::deserialize(d)?;
        Self::parse_pem(&pem).map_err(serde::de::Error::custom)
    }
}

/// The label of the first `-----BEGIN …-----` line, if the text starts with one.
fn pem_label(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("-----BEGIN ")?;
    let end = rest.find("-----")?;
    Some(&rest[..end])
}

/// The size of an RSA key in bits, from its PKCS#1 `RSAPublicKey ::= SEQUENCE { n, e }`.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize, KeyError> {
    let bad = |e: spki::der::Error| KeyError::BadDer(format!("the RSA key is malformed: {e}"));
    let mut reader = SliceReader::new(pkcs1).map_err(bad)?;
    let modulus = reader
        .sequence(|seq| {
            let n = UintRef::decode(seq)?;
            let _e = UintRef::decode(seq)?;
            Ok(n.as_bytes().to_vec())
        })
        .map_err(bad)?;
    reader.finish(()).map_err(bad)?;
    let leading = modulus.first().map_or(0, |b| b.leading_zeros() as usize);
    Ok(modulus.len() * 8 - leading)
}

fn curve_name(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.132.0.10" => "secp256k1".to_owned(),
        "1.3.132.0.35" => "P-521".to_owned(),
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".to_owned(),
        other => other.to_owned(),
    }
}

fn algorithm_name(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.101.113" => "Ed448".to_owned(),
        "1.3.101.110" => "X25519 (a key-agreement key, not a signing key)".to_owned(),
        "1.2.840.10040.4.1" => "DSA".to_owned(),
        other => format!("with OID {other}"),
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! Real key pairs for tests, made with ring: cheap enough to generate per test.

    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};

    const P256_SPKI_PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    const P384_SPKI_PREFIX: [u8; 23] = [
        0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05,
        0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
    ];

    /// A signing key pair of any supported algorithm, with its public half as a `PublicKey`.
    pub enum TestSigner {
        Ecdsa(EcdsaKeyPair),
        Ed25519(Ed25519KeyPair),
        Rsa(RsaKeyPair),
    }

    impl TestSigner {
        pub fn p256() -> Self {
            let rng = SystemRandom::new();
            let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            Self::Ecdsa(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap())
        }

        pub fn p384() -> Self {
            let rng = SystemRandom::new();
            let alg = &signature::ECDSA_P384_SHA384_ASN1_SIGNING;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            Self::Ecdsa(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap())
        }

        pub fn ed25519() -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
            Self::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
        }

        /// ring cannot generate RSA keys; this one was made with OpenSSL for the tests.
        pub fn rsa() -> Self {
            let der = include_bytes!("../testdata/rsa-2048-test-only.pk8.der");
            Self::Rsa(RsaKeyPair::from_pkcs8(der).unwrap())
        }

        pub fn public_key(&self) -> PublicKey {
            match self {
                Self::Ecdsa(pair) => {
                    let point = pair.public_key().as_ref();
                    let mut der = if point.len() == 65 {
                        P256_SPKI_PREFIX.to_vec()
                    } else {
                        P384_SPKI_PREFIX.to_vec()
                    };
                    der.extend_from_slice(point);
                    PublicKey::from_spki_der(&der).unwrap()
                }
                Self::Ed25519(pair) => {
                    PublicKey::from_ed25519_bytes(pair.public_key().as_ref().try_into().unwrap())
                }
                Self::Rsa(_) => {
                    PublicKey::parse_pem(include_str!("../testdata/rsa-2048.pub.pem")).unwrap()
                }
            }
        }

        pub fn sign(&self, message: &[u8]) -> Vec<u8> {
            let rng = SystemRandom::new();
            match self {
                Self::Ecdsa(pair) => pair.sign(&rng, message).unwrap().as_ref().to_vec(),
                Self::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
                Self::Rsa(pair) => {
                    let mut sig = vec![0; pair.public().modulus_len()];
                    pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                        .unwrap();
                    sig
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::TestSigner;
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn every_algorithm_verifies_its_own_signatures_and_nothing_else() {
        for (signer, algorithm) in [
            (TestSigner::p256(), KeyAlgorithm::EcdsaP256),
            (TestSigner::p384(), KeyAlgorithm::EcdsaP384),
            (TestSigner::ed25519(), KeyAlgorithm::Ed25519),
            (TestSigner::rsa(), KeyAlgorithm::Rsa),
        ] {
            let key = signer.public_key();
            assert_eq!(key.algorithm(), algorithm);
            let sig = signer.sign(b"payload");
            assert_eq!(key.verify(b"payload", &sig), Ok(()), "{algorithm}");
            assert_eq!(key.verify(b"payload\n", &sig), Err(SignatureError));
            let mut damaged = sig.clone();
            let last = damaged.len() - 1;
            damaged[last] ^= 1;
            assert_eq!(key.verify(b"payload", &damaged), Err(SignatureError));
            assert_eq!(key.verify(b"payload", &[]), Err(SignatureError));
            // A key of another pair of the same algorithm does not verify it either.
            if algorithm != KeyAlgorithm::Rsa {
                let other = match algorithm {
                    KeyAlgorithm::EcdsaP256 => TestSigner::p256(),
                    KeyAlgorithm::EcdsaP384 => TestSigner::p384(),
                    _ => TestSigner::ed25519(),
                };
                assert_eq!(
                    other.public_key().verify(b"payload", &sig),
                    Err(SignatureError)
                );
            }
        }
    }

    #[test]
    fn pem_round_trips_and_the_fingerprint_hashes_the_der() {
        let key = TestSigner::p256().public_key();
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let again = PublicKey::parse_pem(&pem).unwrap();
        assert_eq!(again, key);
        assert_eq!(
            key.fingerprint(),
            &KeyFingerprint::of_spki_der(key.spki_der())
        );
        // Surrounding whitespace and CRLF line ends are what copy and paste produce.
        let crlf = format!("\n  {}  \n", pem.replace('\n', "\r\n"));
        assert_eq!(PublicKey::parse_pem(&crlf).unwrap(), key);
    }

    #[test]
    fn parses_keys_written_by_openssl() {
        for (file, algorithm) in [
            ("p256.pub.pem", KeyAlgorithm::EcdsaP256),
            ("p384.pub.pem", KeyAlgorithm::EcdsaP384),
            ("ed25519.pub.pem", KeyAlgorithm::Ed25519),
            ("rsa-2048.pub.pem", KeyAlgorithm::Rsa),
        ] {
            let key = PublicKey::parse_pem(&fixture(file)).unwrap();
            assert_eq!(key.algorithm(), algorithm, "{file}");
            assert_eq!(PublicKey::parse_pem(&key.to_pem()).unwrap(), key);
        }
    }

    type Expectation = fn(&KeyError) -> bool;

    #[test]
    fn refuses_what_is_not_a_usable_public_key() {
        let cases: [(&str, Expectation); 9] = [
            ("", |e| *e == KeyError::NotPem),
            ("not a key", |e| *e == KeyError::NotPem),
            ("ec-private-test-only.pem", |e| {
                matches!(e, KeyError::PrivateKey { .. })
            }),
            ("secp256k1.pub.pem", |e| {
                *e == KeyError::UnsupportedCurve("secp256k1".into())
            }),
            ("p256-compressed.pub.pem", |e| *e == KeyError::BadEcPoint),
            ("rsa-1024.pub.pem", |e| *e == KeyError::RsaKeySize(1024)),
            ("rsa-pss.pub.pem", |e| {
                matches!(e, KeyError::UnsupportedAlgorithm(_))
            }),
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                |e| *e == KeyError::Certificate,
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----",
                |e| matches!(e, KeyError::BadPem(_)),
            ),
        ];
        for (input, expected) in cases {
            let text = if input.ends_with(".pem") {
                fixture(input)
            } else {
                input.to_owned()
            };
            let err = PublicKey::parse_pem(&text).unwrap_err();
            assert!(expected(&err), "{input}: {err}");
            assert!(!err.to_string().is_empty());
        }
        for label in [
            "PRIVATE KEY",
            "ENCRYPTED SIGSTORE PRIVATE KEY",
            "ENCRYPTED COSIGN PRIVATE KEY",
        ] {
            let text = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
            assert!(matches!(
                PublicKey::parse_pem(&text),
                Err(KeyError::PrivateKey { .. })
            ));
        }
        let pkcs1 = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----";
        assert_eq!(
            PublicKey::parse_pem(pkcs1),
            Err(KeyError::Pkcs1RsaPublicKey)
        );
    }

    #[test]
    fn refuses_two_keys_in_one_text() {
        let pem = TestSigner::p256().public_key().to_pem();
        assert!(PublicKey::parse_pem(&format!("{pem}{pem}")).is_err());
    }

    #[test]
    fn algorithm_names_are_the_databases() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(KeyAlgorithm::parse(a.as_str()), Ok(a));
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                format!("\"{}\"", a.as_str())
            );
        }
        assert!(KeyAlgorithm::parse("dsa").is_err());
    }
}
