//! What a machine token may do. Tokens carry scopes, never roles: a cluster reports, it does not
//! administer.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenScope {
    /// A cluster or engine reporting admission outcomes.
    #[serde(rename = "ingest:verification")]
    IngestVerification,
    /// A CI pipeline or signer reporting key usage.
    #[serde(rename = "ingest:signing")]
    IngestSigning,
    /// A reader of the machine APIs (dashboards, scripts, `trustwatch verify --server`).
    #[serde(rename = "read")]
    Read,
    /// Administration over the machine APIs: keys, key groups and policies (`trustwatch keys …`,
    /// `trustwatch policy …` with `--server`). It grants nothing else: an admin token that also
    /// reads or reports carries those scopes too.
    #[serde(rename = "admin")]
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 4] = [
        TokenScope::IngestVerification,
        TokenScope::IngestSigning,
        TokenScope::Read,
        TokenScope::Admin,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "ingest:verification" => Ok(TokenScope::IngestVerification),
            "ingest:signing" => Ok(TokenScope::IngestSigning),
            "read" => Ok(TokenScope::Read),
            "admin" => Ok(TokenScope::Admin),
            other => Err(ParseError::new(format!(
                "unknown token scope {other:?}; expected ingest:verification, ingest:signing, read or admin"
            ))),
        }
    }

    /// Parses a comma-separated list, refusing an empty one: a token that may do nothing is a
    /// mistake, not a choice.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, ParseError> {
        let mut scopes = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = Self::parse(part)?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(ParseError::new("a token needs at least one scope"));
        }
        Ok(scopes)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::IngestVerification => "ingest:verification",
            TokenScope::IngestSigning => "ingest:signing",
            TokenScope::Read => "read",
            TokenScope::Admin => "admin",
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for scope in TokenScope::ALL {
            assert_eq!(TokenScope::parse(scope.as_str()), Ok(scope));
        }
    }

    #[test]
    fn list_dedupes_and_refuses_empty_and_unknown() {
        assert_eq!(
            TokenScope::parse_list("read, read,ingest:signing").unwrap(),
            vec![TokenScope::Read, TokenScope::IngestSigning]
        );
        assert!(TokenScope::parse_list(" , ").is_err());
        assert!(TokenScope::parse_list("read,owner").is_err());
        assert_eq!(
            TokenScope::parse_list("admin").unwrap(),
            vec![TokenScope::Admin]
        );
    }
}
