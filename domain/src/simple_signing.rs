//! cosign "simple signing" payloads: the JSON document a container-image signature covers.
//!
//! The format comes from containers/image ("atomic container signature") and cosign reuses it:
//!
//! ```json
//! {"critical": {"identity": {"docker-reference": "reg.example.com/team/app"},
//!               "image": {"docker-manifest-digest": "sha256:…"},
//!               "type": "cosign container image signature"},
//!  "optional": null}
//! ```
//!
//! `critical` means "must be understood": a verifier that meets a member it does not know there
//! must refuse the payload rather than ignore it. `optional` may be ignored; we keep `creator` and
//! `timestamp` because skopeo writes them and a signature's age can be judged on the timestamp.
//! Signatures cover the payload's exact bytes, so parsing never re-serializes anything.

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use std::fmt;

use crate::image::{Digest, ImageReference};
use crate::ParseError;

/// The `critical.type` cosign writes.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";
/// The `critical.type` containers/image (skopeo, podman) writes.
pub const ATOMIC_SIGNATURE_TYPE: &str = "atomic container signature";

/// A parsed simple-signing payload: what the signer claims to have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleSigningPayload {
    docker_reference: String,
    identity: ImageReference,
    manifest_digest: Digest,
    signature_type: &'static str,
    creator: Option<String>,
    timestamp: Option<DateTime<Utc>>,
}

impl SimpleSigningPayload {
    /// Parses a payload strictly: the members of `critical` (matched without regard to case, as
    /// cosign's Go decoder does) must be exactly `identity`, `image` and `type`; a member that
    /// appears twice is refused rather than resolved, since two parsers could pick different ones.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let value: Json = serde_json::from_slice(bytes)
            .map_err(|e| ParseError::new(format!("the signed payload is not valid JSON: {e}")))?;
        let top = value.object("the payload")?;
        let mut top = Members::new(top, "the payload", &["critical", "optional"])?;
        let critical = top
            .take("critical")
            .ok_or_else(|| ParseError::new("the payload has no \"critical\" section"))?;
        let optional = top.take("optional");

        let mut critical = Members::new(
            critical.object("critical")?,
            "critical",
            &["identity", "image", "type"],
        )?;
        let identity = critical
            .take("identity")
            .ok_or_else(|| ParseError::new("critical.identity is required"))?;
        let image = critical
            .take("image")
            .ok_or_else(|| ParseError::new("critical.image is required"))?;
        let kind = critical
            .take("type")
            .ok_or_else(|| ParseError::new("critical.type is required"))?;

        let mut identity = Members::new(
            identity.object("critical.identity")?,
            "critical.identity",
            &["docker-reference"],
        )?;
        let docker_reference = identity
            .take("docker-reference")
            .ok_or_else(|| ParseError::new("critical.identity.docker-reference is required"))?
            .string("critical.identity.docker-reference")?
            .to_owned();
        let identity = ImageReference::parse(&docker_reference)
            .and_then(|r| {
                if docker_reference.trim() == docker_reference {
                    Ok(r)
                } else {
                    Err(ParseError::new("it has surrounding spaces"))
                }
            })
            .map_err(|e| {
                ParseError::new(format!(
                    "critical.identity.docker-reference is not an image reference: {e}"
                ))
            })?;

        let mut image = Members::new(
            image.object("critical.image")?,
            "critical.image",
            &["docker-manifest-digest"],
        )?;
        let digest = image
            .take("docker-manifest-digest")
            .ok_or_else(|| ParseError::new("critical.image.docker-manifest-digest is required"))?;
        let digest = digest.string("critical.image.docker-manifest-digest")?;
        let manifest_digest = Digest::parse(digest)
            .ok()
            // Digest::parse forgives surrounding spaces; a signed payload gets no such leniency.
            .filter(|d| d.as_str() == digest)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "critical.image.docker-manifest-digest {digest:?} is not a sha256 digest"
                ))
            })?;

        let signature_type = match kind.string("critical.type")? {
            COSIGN_SIGNATURE_TYPE => COSIGN_SIGNATURE_TYPE,
            ATOMIC_SIGNATURE_TYPE => ATOMIC_SIGNATURE_TYPE,
            other => {
                return Err(ParseError::new(format!(
                    "critical.type is {other:?}, expected {COSIGN_SIGNATURE_TYPE:?}"
                )))
            }
        };

        let (creator, timestamp) = match optional {
            None | Some(Json::Null) => (None, None),
            Some(optional) => parse_optional(optional)?,
        };

        Ok(Self {
            docker_reference,
            identity,
            manifest_digest,
            signature_type,
            creator,
            timestamp,
        })
    }

    /// `critical.identity.docker-reference` as written: cosign writes the bare repository
    /// (`reg/repo`), skopeo the reference it was given (`reg/repo:tag`).
    pub fn docker_reference(&self) -> &str {
        &self.docker_reference
    }

    /// The docker reference, parsed.
    pub fn identity(&self) -> &ImageReference {
        &self.identity
    }

    /// The manifest digest the signature vouches for.
    pub fn manifest_digest(&self) -> &Digest {
        &self.manifest_digest
    }

    /// `critical.type`: [`COSIGN_SIGNATURE_TYPE`] or [`ATOMIC_SIGNATURE_TYPE`].
    pub fn signature_type(&self) -> &'static str {
        self.signature_type
    }

    /// `optional.creator`, e.g. `"atomic 2.0.0"` or `"skopeo"`: the signer's claim, unverified.
    pub fn creator(&self) -> Option<&str> {
        self.creator.as_deref()
    }

    /// `optional.timestamp` (integer Unix seconds): when the signer says it signed. It is covered
    /// by the signature, so it is the key holder's claim — trusted less than Trustwatch's own
    /// recorded time.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        self.timestamp
    }
}

fn parse_optional(optional: Json) -> Result<(Option<String>, Option<DateTime<Utc>>), ParseError> {
    let members = optional.object("optional")?;
    // Anything may appear in `optional`; we only insist that the members we read are unambiguous
    // and well-formed.
    let mut optional = Members::new(members, "optional", &[])?;
    let creator = match optional.take("creator") {
        None | Some(Json::Null) => None,
        Some(c) => Some(c.string("optional.creator")?.to_owned()),
    };
    let timestamp = match optional.take("timestamp") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) => {
            let secs = n.as_i64().ok_or_else(|| {
                ParseError::new("optional.timestamp must be whole seconds since 1970")
            })?;
            Some(
                DateTime::from_timestamp(secs, 0)
                    .ok_or_else(|| ParseError::new("optional.timestamp is out of range"))?,
            )
        }
        Some(_) => {
            return Err(ParseError::new(
                "optional.timestamp must be a number of seconds since 1970",
            ))
        }
    };
    Ok((creator, timestamp))
}

/// A JSON value that keeps every member of an object in order, so duplicates stay visible
/// (`serde_json::Value` silently keeps the last one).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn object(self, what: &str) -> Result<Vec<(String, Json)>, ParseError> {
        match self {
            Json::Object(members) => Ok(members),
            other => Err(ParseError::new(format!(
                "{what} must be a JSON object, found {}",
                other.kind()
            ))),
        }
    }

    fn string(&self, what: &str) -> Result<&str, ParseError> {
        match self {
            Json::String(s) => Ok(s),
            other => Err(ParseError::new(format!(
                "{what} must be a string, found {}",
                other.kind()
            ))),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// The members of one object, looked up without regard to ASCII case.
struct Members {
    members: Vec<(String, Json)>,
}

impl Members {
    /// `allowed` empty means any member may appear; otherwise others are refused.
    fn new(members: Vec<(String, Json)>, what: &str, allowed: &[&str]) -> Result<Self, ParseError> {
        for (i, (key, _)) in members.iter().enumerate() {
            if members[..i]
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(key))
            {
                return Err(ParseError::new(format!(
                    "{what} has the member {key:?} twice"
                )));
            }
            if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(key)) {
                return Err(ParseError::new(format!(
                    "{what} has the unknown member {key:?} (expected only {})",
                    allowed.join(", ")
                )));
            }
        }
        Ok(Self { members })
    }

    fn take(&mut self, name: &str) -> Option<Json> {
        let i = self
            .members
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))?;
        Some(self.members.swap_remove(i).1)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number out of range"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    members.push((k, v));
                }
                Ok(Json::Object(members))
            }
        }
        d.deserialize_any(JsonVisitor)
    }
}

/// The payload cosign writes for `image` at `digest`: the identity is the bare repository name and
/// `optional` is null. Signatures cover these exact bytes.
pub fn cosign_payload(image: &ImageReference, digest: &Digest) -> Vec<u8> {
    #[derive(Serialize)]
    struct Payload<'a> {
        critical: Critical<'a>,
        optional: Option<()>,
    }
    #[derive(Serialize)]
    struct Critical<'a> {
        identity: Identity,
        image: Image<'a>,
        #[serde(rename = "type")]
        kind: &'static str,
    }
    #[derive(Serialize)]
    struct Identity {
        #[serde(rename = "docker-reference")]
        docker_reference: String,
    }
    #[derive(Serialize)]
    struct Image<'a> {
        #[serde(rename = "docker-manifest-digest")]
        digest: &'a str,
    }
    let payload = Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: image.name(),
            },
            image: Image {
                digest: digest.as_str(),
            },
            kind: "cosign container image signature",
        },
        optional: None,
    };
    // Serializing plain structs of strings cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn payload(critical: &str, optional: &str) -> Vec<u8> {
        format!(r#"{{"critical":{critical},"optional":{optional}}}"#).into_bytes()
    }

    fn critical(reference: &str) -> String {
        format!(
            r#"{{"identity":{{"docker-reference":"{reference}"}},"image":{{"docker-manifest-digest":"sha256:{HEX}"}},"type":"cosign container image signature"}}"#
        )
    }

    #[test]
    fn parses_what_cosign_writes() {
        let image = ImageReference::parse("reg.example.com/team/app:v1").unwrap();
        let digest = Digest::of(b"manifest");
        let parsed = SimpleSigningPayload::parse(&cosign_payload(&image, &digest)).unwrap();
        assert_eq!(parsed.docker_reference(), "reg.example.com/team/app");
        assert_eq!(parsed.identity().name(), "reg.example.com/team/app");
        assert_eq!(parsed.manifest_digest(), &digest);
        assert_eq!(parsed.signature_type(), COSIGN_SIGNATURE_TYPE);
        assert_eq!(parsed.creator(), None);
        assert_eq!(parsed.timestamp(), None);
    }

    #[test]
    fn parses_what_skopeo_writes() {
        let bytes = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"reg.example.com/team/app:v1"}},"image":{{"docker-manifest-digest":"sha256:{HEX}"}},"type":"atomic container signature"}},"optional":{{"creator":"atomic 2.0.0","timestamp":1700000000}}}}"#
        );
        let parsed = SimpleSigningPayload::parse(bytes.as_bytes()).unwrap();
        assert_eq!(parsed.docker_reference(), "reg.example.com/team/app:v1");
        assert_eq!(parsed.identity().tag(), Some("v1"));
        assert_eq!(parsed.signature_type(), ATOMIC_SIGNATURE_TYPE);
        assert_eq!(parsed.creator(), Some("atomic 2.0.0"));
        assert_eq!(
            parsed.timestamp(),
            DateTime::from_timestamp(1_700_000_000, 0)
        );
    }

    #[test]
    fn keys_are_matched_without_regard_to_case() {
        // cosign's specification spells one of them "Identity"; Go's decoder ignores case.
        let bytes = format!(
            r#"{{"Critical":{{"Identity":{{"Docker-Reference":"reg.io/a"}},"IMAGE":{{"docker-manifest-digest":"sha256:{HEX}"}},"Type":"cosign container image signature"}},"Optional":null}}"#
        );
        let parsed = SimpleSigningPayload::parse(bytes.as_bytes()).unwrap();
        assert_eq!(parsed.docker_reference(), "reg.io/a");
    }

    #[test]
    fn optional_may_be_absent_null_or_an_object_with_anything() {
        let c = critical("reg.io/a");
        for bytes in [
            format!(r#"{{"critical":{c}}}"#).into_bytes(),
            payload(&c, "null"),
            payload(&c, "{}"),
            payload(&c, r#"{"anything":[1,{"x":2}],"creator":null}"#),
        ] {
            assert!(SimpleSigningPayload::parse(&bytes).is_ok());
        }
    }

    #[test]
    fn refuses_what_is_not_understood_or_ambiguous() {
        let c = critical("reg.io/a");
        let digest = format!("sha256:{HEX}");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "not valid JSON"),
            (b"[]".to_vec(), "must be a JSON object"),
            (br#"{"optional":null}"#.to_vec(), "no \"critical\""),
            (payload(&c, "[]"), "optional must be a JSON object"),
            (
                format!(r#"{{"critical":{c},"extra":1}}"#).into_bytes(),
                "unknown member \"extra\"",
            ),
            (
                format!(r#"{{"critical":{c},"critical":{c}}}"#).into_bytes(),
                "twice",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":"reg.io/a"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature","extra":true}}"#
                    ),
                    "null",
                ),
                "unknown member \"extra\"",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":"reg.io/a"}},"Identity":{{"docker-reference":"reg.io/b"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}}"#
                    ),
                    "null",
                ),
                "twice",
            ),
            (
                payload(
                    &format!(
                        r#"{{"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}}"#
                    ),
                    "null",
                ),
                "critical.identity is required",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":"reg.io/a","tag":"x"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}}"#
                    ),
                    "null",
                ),
                "unknown member \"tag\"",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":7}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}}"#
                    ),
                    "null",
                ),
                "must be a string",
            ),
            (
                payload(
                    r#"{"identity":{"docker-reference":"reg.io/a"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"}"#,
                    "null",
                ),
                "docker-manifest-digest",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":"reg.io/a"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"something else"}}"#
                    ),
                    "null",
                ),
                "critical.type",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":"Not A Ref"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}}"#
                    ),
                    "null",
                ),
                "not an image reference",
            ),
            (
                payload(&critical(" reg.io/a"), "null"),
                "not an image reference",
            ),
            (
                payload(
                    &format!(
                        r#"{{"identity":{{"docker-reference":"reg.io/a"}},"image":{{"docker-manifest-digest":"{digest} "}},"type":"cosign container image signature"}}"#
                    ),
                    "null",
                ),
                "not a sha256 digest",
            ),
            (payload(&c, r#"{"timestamp":"yesterday"}"#), "timestamp"),
            (payload(&c, r#"{"timestamp":1.5}"#), "whole seconds"),
            (payload(&c, r#"{"creator":"a","Creator":"b"}"#), "twice"),
        ];
        for (bytes, expected) in cases {
            let err = SimpleSigningPayload::parse(&bytes).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{}: {err} (expected {expected:?})",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn signatures_cover_the_exact_bytes() {
        use crate::public_key::test_keys::TestSigner;
        let image = ImageReference::parse("reg.example.com/team/app:v1").unwrap();
        let bytes = cosign_payload(&image, &Digest::of(b"manifest"));
        let signer = TestSigner::p256();
        let signature = signer.sign(&bytes);
        let key = signer.public_key();
        assert!(key.verify(&bytes, &signature).is_ok());
        // The same document with a trailing newline still parses, but is not what was signed.
        let mut with_newline = bytes.clone();
        with_newline.push(b'\n');
        assert!(SimpleSigningPayload::parse(&with_newline).is_ok());
        assert!(key.verify(&with_newline, &signature).is_err());
    }

    #[test]
    fn matches_cosigns_shape() {
        let image = ImageReference::parse("reg.example.com/team/app:v1").unwrap();
        let digest = Digest::of(b"manifest");
        let payload = String::from_utf8(cosign_payload(&image, &digest)).unwrap();
        assert_eq!(
            payload,
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"reg.example.com/team/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
    }
}
