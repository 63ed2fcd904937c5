//! How one admission ended.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Admitted,
    Rejected,
    /// Admitted, but a warn-mode policy failed.
    Warned,
    /// The engine could not decide (for example, it crashed or timed out).
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Admitted,
        Outcome::Rejected,
        Outcome::Warned,
        Outcome::Error,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "admitted" => Ok(Outcome::Admitted),
            "rejected" => Ok(Outcome::Rejected),
            "warned" => Ok(Outcome::Warned),
            "error" => Ok(Outcome::Error),
            other => Err(ParseError::new(format!(
                "unknown outcome {other:?}; expected admitted, rejected, warned or error"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Admitted => "admitted",
            Outcome::Rejected => "rejected",
            Outcome::Warned => "warned",
            Outcome::Error => "error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Ok(o));
        }
        assert!(Outcome::parse("maybe").is_err());
    }
}
