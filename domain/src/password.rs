//! The rules a new password must meet. Checking a password against its hash is `service`'s job.

use crate::ParseError;

/// A password that meets the policy for new passwords (NIST SP 800-63B: length over composition
/// rules). It deliberately has no `Debug` output of its content and no `Serialize`.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    /// argon2 would take longer, but a megabyte "password" is an attack, not a choice.
    pub const MAX_CHARS: usize = 256;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let chars = s.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(ParseError::new(format!(
                "a password needs at least {} characters",
                Self::MIN_CHARS
            )));
        }
        if chars > Self::MAX_CHARS {
            return Err(ParseError::new(format!(
                "a password may have at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if s.trim().is_empty() {
            return Err(ParseError::new("a password cannot be only spaces"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("            ").is_err());
        assert!(NewPassword::parse(&"x".repeat(257)).is_err());
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
