//! What can go wrong talking to a registry, in words an operator can act on. No variant carries a
//! credential, a token or a request header.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// No connection could be made, or it broke: DNS, refused, reset.
    #[error("registry {registry} is unreachable: {detail}")]
    Unreachable { registry: String, detail: String },
    /// The registry did not connect or answer in time.
    #[error("registry {registry} did not answer in time ({phase} timeout of {after:?})")]
    Timeout {
        registry: String,
        phase: &'static str,
        after: Duration,
    },
    /// The TLS handshake failed: an unknown certificate authority, a wrong name, or a registry
    /// that speaks plain HTTP.
    #[error("TLS with registry {registry} failed: {detail}. {}", tls_hint(detail))]
    Tls { registry: String, detail: String },
    /// A plain-HTTP URL (a redirect, an upload location, a token realm) for a host not listed
    /// in `allow_http`.
    #[error(
        "refusing plain HTTP to {host} (for registry {registry}): list {host} in allow_http to permit it"
    )]
    PlainHttpRefused { registry: String, host: String },
    /// The registry or its token service refused us: no, wrong or insufficient credentials.
    #[error("registry {registry} refused access to {repository}: {detail}")]
    AuthRefused {
        registry: String,
        repository: String,
        detail: String,
    },
    /// The registry has no such repository, tag, manifest or blob.
    #[error("{reference} not found in {registry}/{repository}")]
    NotFound {
        registry: String,
        repository: String,
        reference: String,
    },
    /// The registry answered, but not with what the protocol promises: a digest that does not
    /// match the content, JSON that does not parse, a missing header, an oversized body.
    #[error("registry {registry} sent a malformed response: {detail}")]
    Malformed { registry: String, detail: String },
    /// Any other HTTP status: rate limiting (429), server errors (5xx), or a refusal to store.
    #[error("registry {registry} answered HTTP {status}: {detail}")]
    Status {
        registry: String,
        status: u16,
        detail: String,
    },
    /// Our own configuration or input cannot be used (an unparsable CA certificate, say).
    #[error("{0}")]
    Invalid(String),
}

/// What to do about a failed handshake, judged from how it failed.
fn tls_hint(detail: &str) -> &'static str {
    let d = detail.to_ascii_lowercase();
    if d.contains("corrupt message") || d.contains("invalidcontenttype") {
        "It answers in plain HTTP, not TLS: if that is intended, list it in allow_http \
         (as cosign --allow-http-registry does)"
    } else if d.contains("certificate") {
        "If it uses a private certificate authority, add that CA to the trusted registry CAs"
    } else {
        "If it serves plain HTTP, list it in allow_http; if it uses a private certificate \
         authority, add that CA"
    }
}

impl RegistryError {
    /// True when the registry could not be asked at all, or could not answer: what an admission
    /// decision reports as `registry_unreachable`. TLS failures, rate limiting and server errors
    /// count; a refusal, a missing image or a malformed answer does not.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. }
            | RegistryError::Timeout { .. }
            | RegistryError::Tls { .. } => true,
            RegistryError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }

    pub fn is_auth_refused(&self) -> bool {
        matches!(self, RegistryError::AuthRefused { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_covers_transport_and_server_trouble_only() {
        let r = || "r.example".to_owned();
        assert!(RegistryError::Unreachable {
            registry: r(),
            detail: "x".into()
        }
        .is_unreachable());
        assert!(RegistryError::Timeout {
            registry: r(),
            phase: "total",
            after: Duration::from_secs(1)
        }
        .is_unreachable());
        assert!(RegistryError::Status {
            registry: r(),
            status: 503,
            detail: "x".into()
        }
        .is_unreachable());
        assert!(RegistryError::Status {
            registry: r(),
            status: 429,
            detail: "x".into()
        }
        .is_unreachable());
        assert!(!RegistryError::Status {
            registry: r(),
            status: 400,
            detail: "x".into()
        }
        .is_unreachable());
        assert!(!RegistryError::NotFound {
            registry: r(),
            repository: "a".into(),
            reference: "v1".into()
        }
        .is_unreachable());
        assert!(!RegistryError::Malformed {
            registry: r(),
            detail: "x".into()
        }
        .is_unreachable());
    }
}
