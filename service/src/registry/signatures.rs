//! cosign signatures in a registry: reading the `sha256-<hex>.sig` manifest's simple-signing
//! layers, and appending one.

use std::collections::HashMap;

use base64::Engine as _;
use domain::{Digest, ImageReference};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::instrument;

use super::client::{Endpoint, RegistryClient, MAX_MANIFEST_BYTES};
use super::media_type::{COSIGN_SIMPLE_SIGNING, OCI_CONFIG, OCI_MANIFEST};
use super::{signature_tag, RegistryError, SIGNATURE_ANNOTATION};

/// Largest simple-signing payload we read. Real ones are a few hundred bytes; the bound keeps a
/// hostile signature manifest from costing us more than that.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Most signatures read for one digest; more is refused rather than fetched one blob at a time.
pub const MAX_SIGNATURES: usize = 256;

const ACCEPT_SIGNATURE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// One cosign signature as the registry holds it. `payload` is the layer's blob byte for byte
/// (what was signed; its digest is verified against the layer); `signature` is the decoded
/// annotation. Nothing here is trusted yet: checking the signature is the verifier's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySignature {
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    pub layer_digest: Digest,
}

/// What [`RegistryClient::push_signature`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedSignature {
    /// The `.sig` manifest's digest after the push.
    pub manifest_digest: Digest,
    pub layer_digest: Digest,
    /// False when the same payload with the same signature was there already.
    pub appended: bool,
    /// Signature layers in the manifest now.
    pub signatures: usize,
}

#[derive(Deserialize)]
struct SignatureManifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

impl RegistryClient {
    /// The cosign signatures stored for `digest` in `image`'s repository, in the order of the
    /// manifest's layers. No signature manifest means no signatures (an empty list), not an
    /// error. A signature layer whose blob does not match its descriptor, or whose annotation
    /// is missing or not base64, fails the whole read: the caller cannot tell what was meant.
    /// Cached, keyed by the digest.
    #[instrument(skip_all, fields(image = %image, digest = %digest))]
    pub async fn signatures(
        &self,
        image: &ImageReference,
        digest: &Digest,
    ) -> Result<Vec<RegistrySignature>, RegistryError> {
        let ep = self.endpoint(image)?;
        self.inner
            .signatures
            .get_or_fetch(ep.key(digest.as_str()), || {
                self.signatures_uncached(&ep, digest)
            })
            .await
    }

    async fn signatures_uncached(
        &self,
        ep: &Endpoint,
        digest: &Digest,
    ) -> Result<Vec<RegistrySignature>, RegistryError> {
        let tag = signature_tag(digest);
        let manifest = match self
            .fetch_manifest(ep, &tag, ACCEPT_SIGNATURE_MANIFEST)
            .await
        {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let parsed: SignatureManifest = serde_json::from_slice(&manifest.body).map_err(|e| {
            self.malformed(
                ep,
                format!("the signature manifest {tag} does not parse: {e}"),
            )
        })?;
        let layers: Vec<&Descriptor> = parsed
            .layers
            .iter()
            .filter(|l| l.media_type == COSIGN_SIMPLE_SIGNING)
            .collect();
        if layers.len() > MAX_SIGNATURES {
            return Err(self.malformed(
                ep,
                format!(
                    "the signature manifest {tag} lists {} signatures, more than the {MAX_SIGNATURES} read",
                    layers.len()
                ),
            ));
        }
        let mut signatures = Vec::with_capacity(layers.len());
        for layer in layers {
            let layer_digest = Digest::parse(&layer.digest).map_err(|e| {
                self.malformed(
                    ep,
                    format!("a signature layer in {tag} has a bad digest: {}", e.0),
                )
            })?;
            let encoded = layer.annotations.get(SIGNATURE_ANNOTATION).ok_or_else(|| {
                self.malformed(
                    ep,
                    format!("signature layer {layer_digest} in {tag} has no {SIGNATURE_ANNOTATION} annotation"),
                )
            })?;
            let signature = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| {
                    self.malformed(
                        ep,
                        format!(
                            "the signature of layer {layer_digest} in {tag} is not base64: {e}"
                        ),
                    )
                })?;
            if usize::try_from(layer.size).map_or(true, |n| n > MAX_PAYLOAD_BYTES) {
                return Err(self.malformed(
                    ep,
                    format!(
                        "signature layer {layer_digest} in {tag} is {} bytes, more than the {MAX_PAYLOAD_BYTES} a payload may have",
                        layer.size
                    ),
                ));
            }
            let payload = self
                .fetch_blob(ep, &layer_digest, Some(layer.size), MAX_PAYLOAD_BYTES)
                .await
                .map_err(|e| match e {
                    // A listed layer that is not there is the manifest's fault, not a missing image.
                    RegistryError::NotFound { .. } => self.malformed(
                        ep,
                        format!("signature manifest {tag} lists layer {layer_digest}, which the registry does not have"),
                    ),
                    other => other,
                })?;
            signatures.push(RegistrySignature {
                payload,
                signature,
                layer_digest,
            });
        }
        Ok(signatures)
    }

    /// Stores one cosign signature for `digest` in `image`'s repository the way cosign does: the
    /// payload as a blob, a config blob listing the layers, and the `sha256-<hex>.sig` manifest
    /// with the new layer appended to those already there. The same payload with the same
    /// signature is not added twice. Two signers pushing at the same moment can lose one of
    /// the two layers (the registry offers no compare-and-swap); signing again repairs that.
    #[instrument(skip_all, fields(image = %image, digest = %digest))]
    pub async fn push_signature(
        &self,
        image: &ImageReference,
        digest: &Digest,
        payload: &[u8],
        signature: &[u8],
    ) -> Result<PushedSignature, RegistryError> {
        let ep = self.endpoint(image)?;
        let tag = signature_tag(digest);
        let encoded = base64::engine::general_purpose::STANDARD.encode(signature);
        let layer_digest = Digest::of(payload);

        let existing = match self
            .fetch_manifest(&ep, &tag, ACCEPT_SIGNATURE_MANIFEST)
            .await
        {
            Ok(m) => Some(m),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let (mut layers, annotations) = match &existing {
            Some(m) => {
                let value: Value = serde_json::from_slice(&m.body).map_err(|e| {
                    self.malformed(
                        &ep,
                        format!("the signature manifest {tag} does not parse: {e}"),
                    )
                })?;
                let layers = match value.get("layers") {
                    Some(Value::Array(layers)) => layers.clone(),
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => {
                        return Err(self.malformed(
                            &ep,
                            format!("the signature manifest {tag} has no layer list"),
                        ))
                    }
                };
                (layers, value.get("annotations").cloned())
            }
            None => (Vec::new(), None),
        };
        let already_there = layers.iter().any(|l| {
            l.get("mediaType").and_then(Value::as_str) == Some(COSIGN_SIMPLE_SIGNING)
                && l.get("digest").and_then(Value::as_str) == Some(layer_digest.as_str())
                && l.get("annotations")
                    .and_then(|a| a.get(SIGNATURE_ANNOTATION))
                    .and_then(Value::as_str)
                    == Some(encoded.as_str())
        });
        if let (true, Some(m)) = (already_there, &existing) {
            return Ok(PushedSignature {
                manifest_digest: m.digest.clone(),
                layer_digest,
                appended: false,
                signatures: layers.len(),
            });
        }

        self.push_blob(&ep, payload).await?;
        layers.push(json!({
            "mediaType": COSIGN_SIMPLE_SIGNING,
            "size": payload.len(),
            "digest": layer_digest.as_str(),
            "annotations": { SIGNATURE_ANNOTATION: encoded },
        }));
        // The config an empty image with these layers appended has, as go-containerregistry
        // (and so cosign) writes it.
        let diff_ids: Vec<&str> = layers
            .iter()
            .filter_map(|l| l.get("digest").and_then(Value::as_str))
            .collect();
        let history: Vec<Value> = layers
            .iter()
            .map(|_| json!({ "created": "0001-01-01T00:00:00Z" }))
            .collect();
        let config = serde_json::to_vec(&json!({
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": history,
            "os": "",
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "config": {},
        }))
        .map_err(|e| RegistryError::Invalid(format!("cannot encode a signature config: {e}")))?;
        let config_digest = self.push_blob(&ep, &config).await?;

        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "size": config.len(),
                "digest": config_digest.as_str(),
            },
            "layers": layers,
        });
        if let (Some(annotations), Some(object)) = (annotations, manifest.as_object_mut()) {
            object.insert("annotations".to_owned(), annotations);
        }
        let body = serde_json::to_vec(&manifest).map_err(|e| {
            RegistryError::Invalid(format!("cannot encode a signature manifest: {e}"))
        })?;
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(RegistryError::Invalid(format!(
                "the signature manifest {tag} would exceed {MAX_MANIFEST_BYTES} bytes"
            )));
        }
        let manifest_digest = self.store_manifest(&ep, &tag, OCI_MANIFEST, &body).await?;
        self.inner.signatures.invalidate(&ep.key(digest.as_str()));
        Ok(PushedSignature {
            manifest_digest,
            layer_digest,
            appended: true,
            signatures: layers.len(),
        })
    }
}
