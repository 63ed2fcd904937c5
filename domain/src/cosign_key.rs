//! cosign's private key files, read and written, and signing with them.
//!
//! `cosign generate-key-pair` (and `skopeo generate-sigstore-key`) write the private key as PEM
//! around a JSON document (the format of go-securesystemslib's `encrypted` package):
//!
//! ```json
//! {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1}, "salt": "<base64>"},
//!  "cipher": {"name": "nacl/secretbox", "nonce": "<base64>"},
//!  "ciphertext": "<base64>"}
//! ```
//!
//! The secretbox key is `scrypt(passphrase, salt, N, r, p)` (32 bytes); the plaintext is the
//! PKCS#8 DER of the private key. Older cosign labels the PEM block `ENCRYPTED COSIGN PRIVATE
//! KEY`, newer cosign `ENCRYPTED SIGSTORE PRIVATE KEY`; both are read, and the first is written
//! because every cosign and skopeo version reads it.
//!
//! Only ECDSA P-256 keys, cosign's default, are supported for signing. Signatures are
//! deterministic (RFC 6979) and DER-encoded, as cosign writes them, so this module needs no
//! randomness to sign; making a new key file takes its random bytes as arguments, drawn by the
//! caller.

use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use spki::der::pem;

use crate::public_key::PublicKey;

/// The PEM label cosign 1.x and 2.x write and read.
pub const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The PEM label newer cosign releases write.
pub const SIGSTORE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";

/// Bounds on the scrypt cost a key file may ask for: far above cosign's (N = 2^16, r = 8,
/// p = 1), low enough that a hostile file cannot make us allocate gigabytes or spin for minutes.
const MAX_LOG_N: u8 = 20;
const MAX_R: u32 = 32;
const MAX_P: u32 = 16;

/// Why a key file cannot be used. No variant carries the passphrase or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignKeyError {
    #[error("no PEM block found: expected a cosign private key (\"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\")")]
    NotPem,
    #[error("this is a {label:?} PEM block, not a cosign private key: give the private key file `cosign generate-key-pair` wrote (cosign.key)")]
    UnexpectedLabel { label: String },
    #[error("the key file is damaged: {0}")]
    Damaged(String),
    #[error(
        "the key file uses key derivation {0:?}; only scrypt (what cosign writes) is supported"
    )]
    UnsupportedKdf(String),
    #[error(
        "the key file uses cipher {0:?}; only nacl/secretbox (what cosign writes) is supported"
    )]
    UnsupportedCipher(String),
    #[error("the key file's scrypt parameters are out of bounds: {0}")]
    BadScryptParameters(String),
    #[error("wrong passphrase for the key file (or the file was altered): set TRUSTWATCH_KEY_PASSWORD or COSIGN_PASSWORD to the passphrase it was created with")]
    WrongPassphrase,
    #[error("the decrypted key is not an ECDSA P-256 private key (only cosign's default key type can sign here): {0}")]
    UnsupportedKey(String),
    #[error(
        "a private key must be a number from 1 to the P-256 group order; draw new random bytes"
    )]
    BadScalar,
}

/// The scrypt cost to write a key file with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScryptCost {
    #[serde(rename = "N")]
    pub n: u64,
    pub r: u32,
    pub p: u32,
}

impl ScryptCost {
    /// What cosign writes.
    pub const COSIGN: ScryptCost = ScryptCost {
        n: 65536,
        r: 8,
        p: 1,
    };

    fn params(self) -> Result<scrypt::Params, CosignKeyError> {
        let bad = |why: String| CosignKeyError::BadScryptParameters(why);
        if self.n < 2 || !self.n.is_power_of_two() {
            return Err(bad(format!("N = {} is not a power of two", self.n)));
        }
        let log_n = self.n.trailing_zeros() as u8;
        if log_n > MAX_LOG_N || self.r == 0 || self.r > MAX_R || self.p == 0 || self.p > MAX_P {
            return Err(bad(format!(
                "N = {}, r = {}, p = {} (at most N = 2^{MAX_LOG_N}, r = {MAX_R}, p = {MAX_P})",
                self.n, self.r, self.p
            )));
        }
        scrypt::Params::new(log_n, self.r, self.p, 32).map_err(|e| bad(e.to_string()))
    }
}

/// The random bytes a new key file needs besides the key: scrypt's salt and the secretbox nonce.
#[derive(Clone, Copy)]
pub struct KeyFileRandomness {
    pub salt: [u8; 32],
    pub nonce: [u8; 24],
}

#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptCost,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// An ECDSA P-256 private key from a cosign key file. Neither `Debug` nor any other output shows
/// the key; it is wiped from memory when dropped.
pub struct CosignPrivateKey {
    key: SigningKey,
}

impl CosignPrivateKey {
    /// Decrypts a cosign private key file with its passphrase.
    pub fn decrypt(pem_text: &str, passphrase: &[u8]) -> Result<Self, CosignKeyError> {
        let text = pem_text.trim();
        let label = text
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.find("-----").map(|end| &rest[..end]))
            .ok_or(CosignKeyError::NotPem)?;
        if label != COSIGN_LABEL && label != SIGSTORE_LABEL {
            return Err(CosignKeyError::UnexpectedLabel {
                label: label.to_owned(),
            });
        }
        let (_, json) = pem::decode_vec(text.as_bytes())
            .map_err(|e| CosignKeyError::Damaged(format!("the PEM block does not decode: {e}")))?;
        let doc: EncryptedKey = serde_json::from_slice(&json).map_err(|e| {
            CosignKeyError::Damaged(format!(
                "the encrypted key is not the JSON cosign writes: {e}"
            ))
        })?;
        if !doc.kdf.name.eq_ignore_ascii_case("scrypt") {
            return Err(CosignKeyError::UnsupportedKdf(doc.kdf.name));
        }
        if doc.cipher.name != "nacl/secretbox" {
            return Err(CosignKeyError::UnsupportedCipher(doc.cipher.name));
        }
        let salt = b64("kdf.salt", &doc.kdf.salt)?;
        let nonce: [u8; 24] = b64("cipher.nonce", &doc.cipher.nonce)?
            .try_into()
            .map_err(|_| CosignKeyError::Damaged("cipher.nonce is not 24 bytes".to_owned()))?;
        let ciphertext = b64("ciphertext", &doc.ciphertext)?;
        let key = derive(passphrase, &salt, doc.kdf.params)?;
        let der = Zeroizing::new(
            XSalsa20Poly1305::new(key.as_ref().into())
                .decrypt(&nonce.into(), ciphertext.as_slice())
                .map_err(|_| CosignKeyError::WrongPassphrase)?,
        );
        let key = SigningKey::from_pkcs8_der(&der)
            .map_err(|e| CosignKeyError::UnsupportedKey(e.to_string()))?;
        Ok(Self { key })
    }

    /// A key from 32 random bytes (the private scalar, big-endian). Fails for the rare values
    /// that are not a valid scalar (zero, or not below the group order): draw again.
    pub fn from_random_scalar(bytes: &[u8; 32]) -> Result<Self, CosignKeyError> {
        let key = SigningKey::from_slice(bytes).map_err(|_| CosignKeyError::BadScalar)?;
        Ok(Self { key })
    }

    /// The key file cosign would write: PEM `ENCRYPTED COSIGN PRIVATE KEY` around the scrypt
    /// and secretbox JSON.
    pub fn to_encrypted_pem(
        &self,
        passphrase: &[u8],
        randomness: &KeyFileRandomness,
        cost: ScryptCost,
    ) -> Result<String, CosignKeyError> {
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|e| CosignKeyError::UnsupportedKey(e.to_string()))?;
        let key = derive(passphrase, &randomness.salt, cost)?;
        let ciphertext = XSalsa20Poly1305::new(key.as_ref().into())
            .encrypt(&randomness.nonce.into(), der.as_bytes())
            // Encryption fails only for plaintexts beyond the cipher's limit, far above a key.
            .map_err(|_| CosignKeyError::Damaged("could not encrypt the key".to_owned()))?;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let doc = EncryptedKey {
            kdf: Kdf {
                name: "scrypt".to_owned(),
                params: cost,
                salt: b64(&randomness.salt),
            },
            cipher: Cipher {
                name: "nacl/secretbox".to_owned(),
                nonce: b64(&randomness.nonce),
            },
            ciphertext: b64(&ciphertext),
        };
        let json = serde_json::to_vec(&doc).map_err(|e| CosignKeyError::Damaged(e.to_string()))?;
        pem::encode_string(COSIGN_LABEL, pem::LineEnding::LF, &json)
            .map_err(|e| CosignKeyError::Damaged(e.to_string()))
    }

    /// The public half, as Trustwatch verifies with it and as `cosign.pub` holds it.
    pub fn public_key(&self) -> PublicKey {
        let der = self
            .key
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        // A P-256 verifying key always encodes to a valid SPKI; an empty one would not parse
        // and the fallback below is never taken in practice.
        PublicKey::from_spki_der(&der).unwrap_or_else(|_| PublicKey::from_ed25519_bytes(&[0; 32]))
    }

    /// ECDSA P-256 with SHA-256 over `message`'s exact bytes, deterministic (RFC 6979), DER
    /// encoded: what cosign puts, base64-encoded, into the signature annotation.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: DerSignature = self.key.sign(message);
        signature.as_bytes().to_vec()
    }
}

impl std::fmt::Debug for CosignPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CosignPrivateKey({})", self.public_key().fingerprint())
    }
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, CosignKeyError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| CosignKeyError::Damaged(format!("{field} is not base64")))
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    cost: ScryptCost,
) -> Result<Zeroizing<[u8; 32]>, CosignKeyError> {
    let params = cost.params()?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, salt, &params, key.as_mut())
        .map_err(|e| CosignKeyError::BadScryptParameters(e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made once with the real cosign 2.5 (`COSIGN_PASSWORD=trustwatch-fixture cosign
    /// generate-key-pair`), so reading it proves compatibility with cosign's own writer.
    const COSIGN_KEY: &str = include_str!("../testdata/cosign-2.5.key");
    const COSIGN_PUB: &str = include_str!("../testdata/cosign-2.5.pub");
    const COSIGN_PASSPHRASE: &[u8] = b"trustwatch-fixture";

    /// Cheap parameters keep the round trips fast; the cosign fixture uses the real cost.
    const CHEAP: ScryptCost = ScryptCost { n: 16, r: 8, p: 1 };

    fn randomness(seed: u8) -> KeyFileRandomness {
        KeyFileRandomness {
            salt: [seed; 32],
            nonce: [seed.wrapping_add(1); 24],
        }
    }

    #[test]
    fn reads_a_key_file_cosign_wrote() {
        let key = CosignPrivateKey::decrypt(COSIGN_KEY, COSIGN_PASSPHRASE).unwrap();
        let public = PublicKey::parse_pem(COSIGN_PUB).unwrap();
        assert_eq!(
            key.public_key(),
            public,
            "the key's public half is cosign.pub"
        );
        let signature = key.sign(b"payload");
        assert!(public.verify(b"payload", &signature).is_ok());
        assert!(public.verify(b"payload!", &signature).is_err());
    }

    #[test]
    fn reads_a_key_file_skopeo_wrote() {
        let key = CosignPrivateKey::decrypt(
            include_str!("../testdata/skopeo-1.18.private"),
            COSIGN_PASSPHRASE,
        )
        .unwrap();
        let public = PublicKey::parse_pem(include_str!("../testdata/skopeo-1.18.pub")).unwrap();
        assert_eq!(key.public_key(), public);
    }

    #[test]
    fn wrong_passphrase_is_said_plainly() {
        let err = CosignPrivateKey::decrypt(COSIGN_KEY, b"not-it").unwrap_err();
        assert_eq!(err, CosignKeyError::WrongPassphrase);
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        assert!(!err.to_string().contains("not-it"));
    }

    #[test]
    fn round_trips_under_both_labels() {
        let key = CosignPrivateKey::from_random_scalar(&[7; 32]).unwrap();
        let pem = key
            .to_encrypted_pem(b"secret", &randomness(1), CHEAP)
            .unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"));
        let again = CosignPrivateKey::decrypt(&pem, b"secret").unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.sign(b"m"), key.sign(b"m"));

        let sigstore = pem.replace(COSIGN_LABEL, SIGSTORE_LABEL);
        let again = CosignPrivateKey::decrypt(&sigstore, b"secret").unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(
            CosignPrivateKey::decrypt(&pem, b"secreT").unwrap_err(),
            CosignKeyError::WrongPassphrase
        );
    }

    #[test]
    fn the_written_json_is_cosigns_shape() {
        let key = CosignPrivateKey::from_random_scalar(&[9; 32]).unwrap();
        let pem = key
            .to_encrypted_pem(b"pw", &randomness(3), ScryptCost::COSIGN)
            .unwrap();
        let (_, json) = pem::decode_vec(pem.as_bytes()).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(doc["kdf"]["name"], "scrypt");
        assert_eq!(
            doc["kdf"]["params"],
            serde_json::json!({"N": 65536, "r": 8, "p": 1})
        );
        assert_eq!(doc["cipher"]["name"], "nacl/secretbox");
        assert_eq!(
            b64("salt", doc["kdf"]["salt"].as_str().unwrap()).unwrap(),
            [3; 32]
        );
        assert_eq!(
            b64("nonce", doc["cipher"]["nonce"].as_str().unwrap()).unwrap(),
            [4; 24]
        );
        // 16 bytes of Poly1305 tag around the PKCS#8 document.
        let ct = b64("ciphertext", doc["ciphertext"].as_str().unwrap()).unwrap();
        assert_eq!(
            ct.len(),
            key.key.to_pkcs8_der().unwrap().as_bytes().len() + 16
        );
    }

    #[test]
    fn signatures_are_deterministic_der() {
        let key = CosignPrivateKey::from_random_scalar(&[5; 32]).unwrap();
        let a = key.sign(b"same");
        assert_eq!(a, key.sign(b"same"), "RFC 6979: no randomness");
        assert_ne!(a, key.sign(b"other"));
        assert_eq!(a[0], 0x30, "a DER SEQUENCE");
        assert!((8..=72).contains(&a.len()));
        assert!(key.public_key().verify(b"same", &a).is_ok());
    }

    #[test]
    fn refuses_what_is_not_a_usable_key_file() {
        let public = PublicKey::parse_pem(COSIGN_PUB).unwrap().to_pem();
        assert!(matches!(
            CosignPrivateKey::decrypt(&public, b"x"),
            Err(CosignKeyError::UnexpectedLabel { .. })
        ));
        assert_eq!(
            CosignPrivateKey::decrypt("hello", b"x").unwrap_err(),
            CosignKeyError::NotPem
        );
        let wrap = |json: &str| {
            pem::encode_string(COSIGN_LABEL, pem::LineEnding::LF, json.as_bytes()).unwrap()
        };
        assert!(matches!(
            CosignPrivateKey::decrypt(&wrap("{}"), b"x"),
            Err(CosignKeyError::Damaged(_))
        ));
        let doc = |kdf: &str, n: u64, cipher: &str, nonce: &str| {
            wrap(&format!(
                r#"{{"kdf":{{"name":"{kdf}","params":{{"N":{n},"r":8,"p":1}},"salt":"AAAA"}},"cipher":{{"name":"{cipher}","nonce":"{nonce}"}},"ciphertext":"AAAA"}}"#
            ))
        };
        let nonce = base64::engine::general_purpose::STANDARD.encode([0u8; 24]);
        assert!(matches!(
            CosignPrivateKey::decrypt(&doc("pbkdf2", 16, "nacl/secretbox", &nonce), b"x"),
            Err(CosignKeyError::UnsupportedKdf(_))
        ));
        assert!(matches!(
            CosignPrivateKey::decrypt(&doc("scrypt", 16, "aes-gcm", &nonce), b"x"),
            Err(CosignKeyError::UnsupportedCipher(_))
        ));
        assert!(matches!(
            CosignPrivateKey::decrypt(&doc("scrypt", 1 << 30, "nacl/secretbox", &nonce), b"x"),
            Err(CosignKeyError::BadScryptParameters(_))
        ));
        assert!(matches!(
            CosignPrivateKey::decrypt(&doc("scrypt", 1000, "nacl/secretbox", &nonce), b"x"),
            Err(CosignKeyError::BadScryptParameters(_))
        ));
        assert!(matches!(
            CosignPrivateKey::decrypt(&doc("scrypt", 16, "nacl/secretbox", "AAAA"), b"x"),
            Err(CosignKeyError::Damaged(_))
        ));
        assert_eq!(
            CosignPrivateKey::decrypt(&doc("scrypt", 16, "nacl/secretbox", &nonce), b"x")
                .unwrap_err(),
            CosignKeyError::WrongPassphrase
        );
    }

    #[test]
    fn refuses_invalid_scalars() {
        assert!(CosignPrivateKey::from_random_scalar(&[0; 32]).is_err());
        assert!(CosignPrivateKey::from_random_scalar(&[0xff; 32]).is_err());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = CosignPrivateKey::from_random_scalar(&[7; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("sha256:"), "{shown}");
        assert!(!shown.contains("0707"), "{shown}");
    }
}
