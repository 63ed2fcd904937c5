//! Where a signing key stands in its life.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    /// Being replaced: still trusted, no longer to be used for new signatures.
    Retiring,
    Revoked,
    /// Known or suspected to be in someone else's hands since a given time.
    Compromised,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 4] = [
        KeyStatus::Active,
        KeyStatus::Retiring,
        KeyStatus::Revoked,
        KeyStatus::Compromised,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "active" => Ok(KeyStatus::Active),
            "retiring" => Ok(KeyStatus::Retiring),
            "revoked" => Ok(KeyStatus::Revoked),
            "compromised" => Ok(KeyStatus::Compromised),
            other => Err(ParseError::new(format!("unknown key status {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Retiring => "retiring",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Compromised => "compromised",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in KeyStatus::ALL {
            assert_eq!(KeyStatus::parse(s.as_str()), Ok(s));
        }
        assert!(KeyStatus::parse("lost").is_err());
    }
}
