//! The admission engines whose verdicts Trustwatch records.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    Trustwatch,
    Kyverno,
    PolicyController,
    Connaisseur,
    Ratify,
    Kubewarden,
}

impl Engine {
    pub const ALL: [Engine; 6] = [
        Engine::Trustwatch,
        Engine::Kyverno,
        Engine::PolicyController,
        Engine::Connaisseur,
        Engine::Ratify,
        Engine::Kubewarden,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trustwatch" => Ok(Engine::Trustwatch),
            "kyverno" => Ok(Engine::Kyverno),
            "policy-controller" => Ok(Engine::PolicyController),
            "connaisseur" => Ok(Engine::Connaisseur),
            "ratify" => Ok(Engine::Ratify),
            "kubewarden" => Ok(Engine::Kubewarden),
            other => Err(ParseError::new(format!("unknown engine {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Trustwatch => "trustwatch",
            Engine::Kyverno => "kyverno",
            Engine::PolicyController => "policy-controller",
            Engine::Connaisseur => "connaisseur",
            Engine::Ratify => "ratify",
            Engine::Kubewarden => "kubewarden",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.as_str()), Ok(e));
        }
        assert!(Engine::parse("opa").is_err());
    }
}
