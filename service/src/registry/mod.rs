//! The OCI distribution client: resolves tags to digests, reads and writes cosign "simple
//! signing" signatures, and keeps a short-lived cache in front of both so that one image admitted
//! thousands of times costs the registry one request.
//!
//! What it speaks:
//!
//! - the [distribution API] (`/v2/<repository>/manifests|blobs/…`), over HTTPS; plain HTTP only to
//!   the hosts named in [`RegistryConfig::allow_http`], as cosign's `--allow-http-registry` and
//!   skopeo's `tls-verify=false` do;
//! - anonymous access, HTTP basic, and the Docker token flow (a `401` with
//!   `WWW-Authenticate: Bearer realm=…,service=…,scope=…` sends us to the realm for a token,
//!   which is then reused until shortly before it expires), with credentials given per registry
//!   or read from a Docker config file ([`RegistryConfig::with_auth_file`]);
//! - cosign's layout: signatures of `sha256:<hex>` live under tag `sha256-<hex>.sig` in the image's
//!   repository, one layer per signature, each layer's blob the exact payload that was signed and
//!   its annotation `dev.cosignproject.cosign/signature` the base64 signature.
//!
//! Every byte that comes back is checked against the digest that names it before anyone sees
//! it: manifests against `Docker-Content-Digest` (or the digest asked for), blobs against their
//! descriptor. A registry is a cache of content, not an authority on it.
//!
//! Credentials ([`Credentials`]) and tokens are never logged and never appear in an error.
//!
//! [distribution API]: https://github.com/opencontainers/distribution-spec/blob/main/spec.md

mod auth;
mod auth_file;
mod cache;
mod client;
mod config;
mod error;
mod signatures;

pub use auth_file::AuthFileError;
pub use client::{FetchedManifest, RegistryClient, RegistryStats};
pub use config::{CacheConfig, Credentials, RegistryConfig};
pub use error::RegistryError;
pub use signatures::{PushedSignature, RegistrySignature, MAX_PAYLOAD_BYTES, MAX_SIGNATURES};

/// Media types this client asks for or writes.
pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// One cosign signature: the layer's blob is the payload that was signed.
    pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
}

/// The layer annotation that holds a cosign signature, base64-encoded.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The tag under which cosign stores the signatures of the manifest with this digest.
pub fn signature_tag(digest: &domain::Digest) -> String {
    format!("sha256-{}.sig", digest.hex())
}
