//! Key fingerprints: `sha256:` and the hex SHA-256 of the public key's SPKI DER encoding.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyFingerprint(String);

impl KeyFingerprint {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        match s.strip_prefix("sha256:") {
            Some(hex)
                if hex.len() == 64
                    && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(ParseError::new(format!(
                "{s:?} is not a key fingerprint (expected sha256: and 64 lower-case hex digits)"
            ))),
        }
    }

    /// The fingerprint of a public key given as SPKI DER.
    pub fn of_spki_der(der: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!("sha256:{}", hex::encode(sha2::Sha256::digest(der))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The short form people read in lists: the first 12 hex digits.
    pub fn short(&self) -> &str {
        &self.0["sha256:".len()..("sha256:".len() + 12)]
    }
}

impl TryFrom<String> for KeyFingerprint {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<KeyFingerprint> for String {
    fn from(f: KeyFingerprint) -> String {
        f.0
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_hash_the_der() {
        let f = KeyFingerprint::of_spki_der(b"");
        assert_eq!(
            f.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(f.short(), "e3b0c44298fc");
        assert_eq!(KeyFingerprint::parse(f.as_str()), Ok(f));
        assert!(KeyFingerprint::parse("sha256:abc").is_err());
    }
}
