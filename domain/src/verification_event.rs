//! One admission outcome from one cluster, as it enters Trustwatch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Digest, Engine, ImageReference, KeyFingerprint, Outcome, ReasonCode};

/// A verification event whose every field has been validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationEvent {
    /// Chosen by the sender, so that sending it twice stores it once.
    pub id: Uuid,
    pub cluster: String,
    pub namespace: String,
    pub workload_kind: String,
    pub workload_name: String,
    pub image: ImageReference,
    pub digest: Option<Digest>,
    pub outcome: Outcome,
    pub reason: ReasonCode,
    pub engine: Engine,
    pub policy: Option<String>,
    pub message: Option<String>,
    pub checks: serde_json::Value,
    /// How to fix a refusal, one line per step; empty when the engine did not say.
    pub remediation: Vec<String>,
    pub keys: Vec<KeyFingerprint>,
    pub observed_at: DateTime<Utc>,
}

/// Key usage reported by a CI pipeline or signer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningEvent {
    pub id: Uuid,
    pub key: KeyFingerprint,
    pub image: ImageReference,
    pub digest: Digest,
    /// Pipeline, job or user that asked for the signature.
    pub signer_identity: String,
    /// The runner or machine it ran on.
    pub signer_host: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
    /// What the signer says; the time Trustwatch records it is the trusted one.
    pub claimed_at: Option<DateTime<Utc>>,
}
