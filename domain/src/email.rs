//! An account's e-mail address, the name a person logs in with.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

/// A syntactically plausible e-mail address, trimmed and lower-cased so that `Ada@X.org` and
/// `ada@x.org` are one account. Deliverability is not our concern: this is a login name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return Err(ParseError::new("an e-mail address is required"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(ParseError::new("that e-mail address is too long"));
        }
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(ParseError::new(format!("{s:?} is not an e-mail address")));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(
            Email::parse("  Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "ada",
            "@x.org",
            "ada@",
            "ada@@x.org",
            "a da@x.org",
            "ada@.org",
            "ada@x.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(250))).is_err());
    }
}
