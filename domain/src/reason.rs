//! The closed set of reasons an admission ends the way it does. Every rejection Trustwatch shows,
//! whoever produced it, carries exactly one of these as its primary reason.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

macro_rules! reason_codes {
    ($($variant:ident => $code:literal, $summary:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ReasonCode {
            $($variant,)*
        }

        impl ReasonCode {
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $code,)*
                }
            }

            /// One sentence a developer can read without knowing the code.
            pub fn summary(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $summary,)*
                }
            }

            pub fn parse(s: &str) -> Result<Self, ParseError> {
                match s.trim() {
                    $($code => Ok(ReasonCode::$variant),)*
                    other => Err(ParseError::new(format!("unknown reason code {other:?}"))),
                }
            }
        }
    };
}

reason_codes! {
    Admitted => "admitted", "Every policy that applies to the image was satisfied.";
    Unsigned => "unsigned", "No signature was found for the image digest.";
    SignatureInvalid => "signature_invalid", "A signature was found but does not verify against the key.";
    UnknownKey => "unknown_key", "The image is signed by a key no policy trusts.";
    KeyRevoked => "key_revoked", "The image is signed by a key that has been revoked.";
    SignedAfterCompromise => "signed_after_compromise", "The signature was recorded at or after the time its key was compromised.";
    OutsideValidityWindow => "outside_validity_window", "The signing key was not valid at the time of signing.";
    IdentityMismatch => "identity_mismatch", "The signed image identity does not match the image being deployed.";
    DigestMismatch => "digest_mismatch", "The signature covers a different image digest.";
    ThresholdNotMet => "threshold_not_met", "Fewer authorities signed the image than the policy requires.";
    DigestRequired => "digest_required", "The policy requires the image to be referenced by digest, not by tag.";
    NoMatchingPolicy => "no_matching_policy", "No policy covers this image and the default refuses it.";
    RegistryUnreachable => "registry_unreachable", "The registry could not be reached to fetch signatures.";
    Unclassified => "unclassified", "Another engine refused the image for a reason Trustwatch could not classify.";
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_text_and_json() {
        for &code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Ok(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(!code.summary().is_empty());
        }
        assert!(ReasonCode::parse("because").is_err());
    }
}
