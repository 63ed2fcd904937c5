//! Trustwatch's pure logic.
//!
//! Everything here is a value or a function over values: no I/O, no clocks, no randomness, and no
//! types from HTTP, SQL or UI frameworks. Values from the outside world enter through `parse()`
//! constructors, so the rest of the system only ever holds valid ones.

pub mod admission_review;
pub mod alert;
pub mod audit;
pub mod classify;
pub mod connaisseur;
#[cfg(not(target_arch = "wasm32"))]
pub mod cosign_key;
pub mod decision;
pub mod email;
pub mod engine;
pub mod evaluate;
pub mod fingerprint;
pub mod image;
pub mod key_status;
pub mod outcome;
pub mod password;
pub mod playbook;
pub mod policy;
pub mod policy_export;
pub mod policy_report;
pub mod public_key;
pub mod reason;
pub mod role;
pub mod simple_signing;
pub mod token_scope;
pub mod trust_bundle;
pub mod verification_event;
pub mod wire;

pub use audit::{AuditEntry, AuditRecord, ChainBreak, ChainStatus, ChainVerifier};
pub use decision::{
    AdmissionRequest, Check, CheckKind, Decision, SignatureEvidence, SignatureSource,
};
pub use email::Email;
pub use engine::Engine;
#[cfg(not(target_arch = "wasm32"))]
pub use evaluate::DirectVerifier;
pub use evaluate::{evaluate, identity_matches, SignatureVerifier};
pub use fingerprint::KeyFingerprint;
pub use image::{Digest, ImageReference};
pub use key_status::KeyStatus;
pub use outcome::Outcome;
pub use password::NewPassword;
pub use playbook::{Playbook, PlaybookError};
pub use policy::{Authority, IdentityRule, KeyGroup, Mode, Policy, PolicyItem, Problem, Problems};
pub use public_key::{KeyAlgorithm, KeyError, PublicKey, SignatureError};
pub use reason::ReasonCode;
pub use role::Role;
pub use simple_signing::SimpleSigningPayload;
pub use token_scope::TokenScope;
#[cfg(not(target_arch = "wasm32"))]
pub use trust_bundle::BundleSigningKey;
pub use trust_bundle::{
    BundleError, DefaultAction, SignedTrustBundle, TrustBundle, TrustBundleContents, TrustedKey,
    TrustedKeyRecord,
};
pub use verification_event::{SigningEvent, VerificationEvent};

/// A value from outside failed validation; the message is fit to show to the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
