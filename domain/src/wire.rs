//! The native wire format of reported events, and its validation into domain events.
//!
//! Senders' JSON is read into the `Raw…` shapes (every field optional or a plain string, unknown
//! fields ignored so senders may add their own), then validated field by field. The first problem
//! is reported with the field's name, so a batch can be refused with "events[17].digest: …".

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Digest, Engine, ImageReference, KeyFingerprint, Outcome, ReasonCode, SigningEvent,
    VerificationEvent,
};

/// How far ahead of the server's clock a reported time may be (clock skew), before it is refused.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
pub const MAX_SHORT_TEXT: usize = 253;
pub const MAX_MESSAGE: usize = 16 * 1024;
pub const MAX_CHECKS_JSON: usize = 64 * 1024;
pub const MAX_KEYS: usize = 32;
pub const MAX_REMEDIATION_STEPS: usize = 16;
pub const MAX_REMEDIATION_STEP: usize = 2048;
pub const MAX_SIGNATURE_BYTES: usize = 64 * 1024;

/// An event id derived from what identifies an event in a source that has no ids of its own
/// (a report result, an alert): the same source event always gets the same id, so sending it
/// again is recognised as a duplicate. A UUID of version 8 ("custom") over SHA-256 of the parts.
pub fn derived_event_id(source: &str, parts: &[&str]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h.finalize()[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The value is well-formed but the sender may not use it (another cluster than its own).
    pub forbidden: bool,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            forbidden: false,
        }
    }

    fn forbidden(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            forbidden: true,
            ..Self::new(field, message)
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RawWorkload {
    pub kind: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RawVerificationEvent {
    pub id: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub workload: RawWorkload,
    pub image: Option<String>,
    pub digest: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub engine: Option<String>,
    pub policy: Option<String>,
    pub message: Option<String>,
    pub checks: Option<serde_json::Value>,
    /// How to fix a refusal, one command or step per entry (Trustwatch's verifier fills it).
    #[serde(default)]
    pub remediation: Vec<String>,
    #[serde(default)]
    pub keys: Vec<String>,
    pub observed_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RawSigner {
    pub identity: Option<String>,
    pub host: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RawSigningEvent {
    pub id: Option<String>,
    pub key: Option<String>,
    pub image: Option<String>,
    pub digest: Option<String>,
    #[serde(default)]
    pub signer: RawSigner,
    pub payload: Option<String>,
    pub signature: Option<String>,
    pub signed_at: Option<String>,
}

fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, FieldError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(FieldError::new(field, "is required")),
    }
}

fn short(field: &str, s: &str) -> Result<String, FieldError> {
    if s.chars().count() > MAX_SHORT_TEXT {
        return Err(FieldError::new(
            field,
            format!("is longer than {MAX_SHORT_TEXT} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(s.to_owned())
}

fn optional_short(field: &str, v: &Option<String>) -> Result<Option<String>, FieldError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => short(field, s).map(Some),
        None => Ok(None),
    }
}

fn id(v: &Option<String>) -> Result<Uuid, FieldError> {
    Uuid::parse_str(required("id", v)?).map_err(|_| FieldError::new("id", "is not a UUID"))
}

fn time(field: &str, s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|_| FieldError::new(field, "is not an RFC 3339 time (e.g. 2026-11-25T10:00:00Z)"))?
        .with_timezone(&Utc);
    if t > now + MAX_CLOCK_SKEW {
        return Err(FieldError::new(
            field,
            "is in the future (check the sender's clock)",
        ));
    }
    Ok(t)
}

impl RawVerificationEvent {
    /// Validates the event. `bound_cluster` is the cluster the sending token is bound to: it is
    /// the default, and any other cluster is refused.
    pub fn validate(
        &self,
        now: DateTime<Utc>,
        bound_cluster: Option<&str>,
    ) -> Result<VerificationEvent, FieldError> {
        let id = id(&self.id)?;
        let cluster = match (optional_short("cluster", &self.cluster)?, bound_cluster) {
            (Some(c), Some(b)) if c != b => {
                return Err(FieldError::forbidden(
                    "cluster",
                    format!("is {c:?}, but this token may only report for {b:?}"),
                ))
            }
            (Some(c), _) => c,
            (None, Some(b)) => b.to_owned(),
            (None, None) => return Err(FieldError::new("cluster", "is required")),
        };
        let image_text = required("image", &self.image)?;
        let image = ImageReference::parse(image_text).map_err(|e| FieldError::new("image", e.0))?;
        let digest = match self
            .digest
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(d) => Some(Digest::parse(d).map_err(|e| FieldError::new("digest", e.0))?),
            None => image.digest().cloned(),
        };
        let outcome = Outcome::parse(required("outcome", &self.outcome)?)
            .map_err(|e| FieldError::new("outcome", e.0))?;
        let reason = match self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(r) => ReasonCode::parse(r).map_err(|e| FieldError::new("reason", e.0))?,
            None if outcome == Outcome::Admitted => ReasonCode::Admitted,
            None => {
                return Err(FieldError::new(
                    "reason",
                    "is required unless the outcome is admitted",
                ))
            }
        };
        let engine = Engine::parse(required("engine", &self.engine)?)
            .map_err(|e| FieldError::new("engine", e.0))?;
        let message = match self.message.as_deref().filter(|m| !m.is_empty()) {
            Some(m) if m.len() > MAX_MESSAGE => {
                return Err(FieldError::new(
                    "message",
                    format!("is longer than {MAX_MESSAGE} bytes"),
                ))
            }
            Some(m) => Some(m.to_owned()),
            None => None,
        };
        let checks = self
            .checks
            .clone()
            .unwrap_or(serde_json::Value::Array(vec![]));
        if !checks.is_array() {
            return Err(FieldError::new("checks", "must be a list"));
        }
        if checks.to_string().len() > MAX_CHECKS_JSON {
            return Err(FieldError::new(
                "checks",
                format!("is larger than {MAX_CHECKS_JSON} bytes"),
            ));
        }
        if self.keys.len() > MAX_KEYS {
            return Err(FieldError::new(
                "keys",
                format!("lists more than {MAX_KEYS} keys"),
            ));
        }
        let keys = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                KeyFingerprint::parse(k).map_err(|e| FieldError::new(format!("keys[{i}]"), e.0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.remediation.len() > MAX_REMEDIATION_STEPS {
            return Err(FieldError::new(
                "remediation",
                format!("lists more than {MAX_REMEDIATION_STEPS} steps"),
            ));
        }
        for (i, step) in self.remediation.iter().enumerate() {
            if step.len() > MAX_REMEDIATION_STEP || step.contains('\n') {
                return Err(FieldError::new(
                    format!("remediation[{i}]"),
                    format!("must be one line of at most {MAX_REMEDIATION_STEP} bytes"),
                ));
            }
        }
        let observed_at = time(
            "observed_at",
            required("observed_at", &self.observed_at)?,
            now,
        )?;
        Ok(VerificationEvent {
            id,
            cluster: short("cluster", &cluster)?,
            namespace: short("namespace", required("namespace", &self.namespace)?)?,
            workload_kind: short(
                "workload.kind",
                required("workload.kind", &self.workload.kind)?,
            )?,
            workload_name: short(
                "workload.name",
                required("workload.name", &self.workload.name)?,
            )?,
            image,
            digest,
            outcome,
            reason,
            engine,
            policy: optional_short("policy", &self.policy)?,
            message,
            checks,
            remediation: self.remediation.clone(),
            keys,
            observed_at,
        })
    }
}

/// A denial or warning text another engine returned, with the context the reporter knows.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RawAdmissionMessage {
    pub id: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub workload: RawWorkload,
    /// When known to the reporter; otherwise read out of the message.
    pub image: Option<String>,
    pub digest: Option<String>,
    pub engine: Option<String>,
    pub policy: Option<String>,
    /// `rejected` (the default) or `warned`; a warning text implies `warned`.
    pub outcome: Option<String>,
    pub message: Option<String>,
    pub observed_at: Option<String>,
}

impl RawAdmissionMessage {
    /// Classifies the message (see `classify`) and validates the event it describes. What the
    /// reporter sent explicitly wins over what the text suggests.
    pub fn validate(
        &self,
        now: DateTime<Utc>,
        bound_cluster: Option<&str>,
    ) -> Result<VerificationEvent, FieldError> {
        let message = required("message", &self.message)?;
        let c = crate::classify::classify(message);
        let pick = |given: &Option<String>, found: Option<String>| {
            given.clone().filter(|s| !s.trim().is_empty()).or(found)
        };
        let engine =
            pick(&self.engine, c.engine.map(|e| e.as_str().to_owned())).ok_or_else(|| {
                FieldError::new(
                    "engine",
                    "could not be told from the message; send it explicitly",
                )
            })?;
        let image = pick(&self.image, c.image.clone()).ok_or_else(|| {
            FieldError::new(
                "image",
                "could not be found in the message; send it explicitly",
            )
        })?;
        let outcome = pick(&self.outcome, None)
            .unwrap_or_else(|| if c.warning { "warned" } else { "rejected" }.to_owned());
        let checks = match (&c.expected_identity, &c.actual_identity) {
            (None, None) => serde_json::json!([]),
            (expected, actual) => serde_json::json!([{
                "check": "identity",
                "passed": false,
                "expected": expected,
                "actual": actual,
            }]),
        };
        RawVerificationEvent {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
            workload: self.workload.clone(),
            image: Some(image),
            digest: pick(&self.digest, c.digest.clone()),
            outcome: Some(outcome),
            reason: Some(c.reason.as_str().to_owned()),
            engine: Some(engine),
            policy: pick(&self.policy, c.policy.clone()),
            message: Some(message.to_owned()),
            checks: Some(checks),
            remediation: Vec::new(),
            keys: vec![],
            observed_at: self.observed_at.clone(),
        }
        .validate(now, bound_cluster)
    }
}

impl RawSigningEvent {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<SigningEvent, FieldError> {
        let id = id(&self.id)?;
        let key = KeyFingerprint::parse(required("key", &self.key)?)
            .map_err(|e| FieldError::new("key", e.0))?;
        let image = ImageReference::parse(required("image", &self.image)?)
            .map_err(|e| FieldError::new("image", e.0))?;
        let digest = match self
            .digest
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(d) => Digest::parse(d).map_err(|e| FieldError::new("digest", e.0))?,
            None => image.digest().cloned().ok_or_else(|| {
                FieldError::new("digest", "is required (or give the image by digest)")
            })?,
        };
        let bytes = |field: &str, v: &Option<String>| -> Result<Option<Vec<u8>>, FieldError> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => {
                    let b = base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|_| FieldError::new(field, "is not base64"))?;
                    if b.len() > MAX_SIGNATURE_BYTES {
                        return Err(FieldError::new(
                            field,
                            format!("is larger than {MAX_SIGNATURE_BYTES} bytes"),
                        ));
                    }
                    Ok(Some(b))
                }
            }
        };
        let claimed_at = match self
            .signed_at
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(t) => Some(time("signed_at", t, now)?),
            None => None,
        };
        Ok(SigningEvent {
            id,
            key,
            image,
            digest,
            signer_identity: short(
                "signer.identity",
                required("signer.identity", &self.signer.identity)?,
            )?,
            signer_host: optional_short("signer.host", &self.signer.host)?,
            payload: bytes("payload", &self.payload)?,
            signature: bytes("signature", &self.signature)?,
            claimed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn event(v: serde_json::Value) -> RawVerificationEvent {
        serde_json::from_value(v).unwrap()
    }

    fn valid() -> serde_json::Value {
        json!({"id":"0192f0c4-7d1e-7a3b-9c2d-1234567890ab","cluster":"prod-eu-1","namespace":"payments",
               "workload":{"kind":"Deployment","name":"api"},"image":"registry.example.com/payments/api:1.4.2",
               "digest":D,"outcome":"rejected","reason":"unsigned","engine":"kyverno","policy":"require-signed",
               "message":"raw","checks":[],"keys":[D],"observed_at":"2026-11-25T10:00:00Z","extra":"ignored"})
    }

    fn field_of(v: serde_json::Value, bound: Option<&str>) -> String {
        event(v).validate(now(), bound).unwrap_err().field
    }

    #[test]
    fn the_documented_example_validates() {
        let e = event(valid()).validate(now(), None).unwrap();
        assert_eq!(e.cluster, "prod-eu-1");
        assert_eq!(e.reason, ReasonCode::Unsigned);
        assert_eq!(e.digest.unwrap().as_str(), D);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: &[(&str, serde_json::Value)] = &[
            ("id", json!("nope")),
            ("image", json!("Not An Image")),
            ("digest", json!("sha256:12")),
            ("outcome", json!("maybe")),
            ("reason", json!("because")),
            ("engine", json!("opa")),
            ("observed_at", json!("yesterday")),
            ("observed_at", json!("2026-11-25T13:00:00Z")),
            ("checks", json!({"not": "a list"})),
            ("namespace", json!("x".repeat(300))),
        ];
        for (field, value) in cases {
            let mut v = valid();
            v[*field] = value.clone();
            assert_eq!(field_of(v, None), *field, "{field} = {value}");
        }
        let mut v = valid();
        v["keys"] = json!([D, "sha256:zz"]);
        assert_eq!(field_of(v, None), "keys[1]");
        let mut v = valid();
        v["workload"] = json!({"kind": "Deployment"});
        assert_eq!(field_of(v, None), "workload.name");
    }

    #[test]
    fn a_bound_token_sets_and_limits_the_cluster() {
        let mut v = valid();
        v.as_object_mut().unwrap().remove("cluster");
        assert_eq!(
            event(v.clone())
                .validate(now(), Some("prod-eu-1"))
                .unwrap()
                .cluster,
            "prod-eu-1"
        );
        assert_eq!(field_of(v, None), "cluster");
        let refused = event(valid())
            .validate(now(), Some("prod-us-1"))
            .unwrap_err();
        assert_eq!(refused.field, "cluster");
        assert!(refused.forbidden);
    }

    #[test]
    fn admitted_needs_no_reason() {
        let mut v = valid();
        v["outcome"] = json!("admitted");
        v.as_object_mut().unwrap().remove("reason");
        assert_eq!(
            event(v).validate(now(), None).unwrap().reason,
            ReasonCode::Admitted
        );
    }

    #[test]
    fn admission_messages_are_classified_into_events() {
        let raw: RawAdmissionMessage = serde_json::from_value(json!({
            "id":"0192f0c4-7d1e-7a3b-9c2d-1234567890ab","cluster":"prod-eu-1","namespace":"payments",
            "workload":{"kind":"Deployment","name":"api"},"observed_at":"2026-11-25T10:00:00Z",
            "message": "admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource Deployment/payments/api was blocked due to the following policies \n\nrequire-signed:\n  verify-signature: 'failed to verify image registry.example.com/payments/api:1.4.2: .attestors[0].entries[0].keys: no signatures found'"
        })).unwrap();
        let e = raw.validate(now(), None).unwrap();
        assert_eq!(e.engine, Engine::Kyverno);
        assert_eq!(e.reason, ReasonCode::Unsigned);
        assert_eq!(e.outcome, Outcome::Rejected);
        assert_eq!(e.policy.as_deref(), Some("require-signed"));
        assert_eq!(
            e.image.to_string(),
            "registry.example.com/payments/api:1.4.2"
        );
        assert!(e.message.unwrap().contains("no signatures found"));

        let mut unknown = raw.clone();
        unknown.message = Some("something odd happened".into());
        assert_eq!(unknown.validate(now(), None).unwrap_err().field, "engine");
        unknown.engine = Some("ratify".into());
        assert_eq!(unknown.validate(now(), None).unwrap_err().field, "image");
        unknown.image = Some("reg.io/app:1".into());
        assert_eq!(
            unknown.validate(now(), None).unwrap().reason,
            ReasonCode::Unclassified
        );
    }

    #[test]
    fn signing_events_validate() {
        let raw: RawSigningEvent = serde_json::from_value(json!({
            "id":"0192f0c4-7d1e-7a3b-9c2d-1234567890ab","key":D,"image":"reg.io/app:1","digest":D,
            "signer":{"identity":"gitlab/app/release#1","host":"runner-1"},
            "payload":"eyJhIjoxfQ==","signature":"MEUCIQ==","signed_at":"2026-11-25T11:59:00Z"}))
        .unwrap();
        let e = raw.validate(now()).unwrap();
        assert_eq!(e.payload.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(e.signer_host.as_deref(), Some("runner-1"));
        let mut bad = raw.clone();
        bad.signature = Some("%%%".into());
        assert_eq!(bad.validate(now()).unwrap_err().field, "signature");
        let mut bad = raw;
        bad.digest = None;
        assert_eq!(bad.validate(now()).unwrap_err().field, "digest");
    }
}
