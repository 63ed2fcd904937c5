//! How the registry client is set up: timeouts, which hosts may be spoken to in plain HTTP, whose
//! credentials go where, and how long answers are kept.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The registry client's settings. `Default` gives HTTPS only, anonymous access, a 5 s connect
/// and 30 s total timeout per request, and a cache of 10 000 answers kept 5 minutes (failures 10 s).
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long one request may take from start to last byte, retries after a `401` aside.
    pub timeout: Duration,
    /// Registries spoken to in plain HTTP, as `host` (any port) or `host:port`, the way image
    /// references name them. Every other registry is HTTPS only.
    pub allow_http: Vec<String>,
    /// Credentials per registry, keyed as image references name it (`ghcr.io`, `docker.io`,
    /// `registry.example.com:5000`). Registries not listed are accessed anonymously.
    pub credentials: HashMap<String, Credentials>,
    /// Extra trusted certificate authorities (PEM), for registries behind a private CA.
    pub ca_certificates_pem: Vec<String>,
    pub cache: CacheConfig,
    pub user_agent: String,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            allow_http: Vec::new(),
            credentials: HashMap::new(),
            ca_certificates_pem: Vec::new(),
            cache: CacheConfig::default(),
            user_agent: concat!("trustwatch/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl RegistryConfig {
    /// Adds credentials for `registry` (named as in image references).
    pub fn with_credentials(mut self, registry: &str, credentials: Credentials) -> Self {
        self.credentials
            .insert(canonical_registry(registry), credentials);
        self
    }

    /// Adds every registry's credentials from a Docker config file's text (`{"auths": …}`, as
    /// an image pull secret holds it; see `auth_file`), replacing any for the same registries.
    pub fn with_auth_file(mut self, text: &str) -> Result<Self, super::AuthFileError> {
        for (registry, credentials) in super::auth_file::parse(text)? {
            self = self.with_credentials(&registry, credentials);
        }
        Ok(self)
    }

    /// Allows plain HTTP to `host` or `host:port`.
    pub fn allowing_http(mut self, host: &str) -> Self {
        self.allow_http.push(host.to_ascii_lowercase());
        self
    }

    pub(crate) fn credentials_for(&self, registry: &str) -> Option<&Credentials> {
        let wanted = canonical_registry(registry);
        self.credentials
            .iter()
            .find(|(name, _)| canonical_registry(name) == wanted)
            .map(|(_, c)| c)
    }

    /// True when `authority` (`host` or `host:port`) is listed in `allow_http`, either exactly
    /// or by its host alone.
    pub(crate) fn http_allowed(&self, authority: &str) -> bool {
        http_allowed(&self.allow_http, authority)
    }
}

pub(crate) fn http_allowed(allow_http: &[String], authority: &str) -> bool {
    let authority = authority.to_ascii_lowercase();
    let host = host_of(&authority);
    allow_http.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        entry == authority || (!has_port(&entry) && entry == host)
    })
}

/// How long the client keeps answers. Successes and failures are kept separately: a failure
/// only briefly, so a registry that comes back is seen soon, but long enough that a storm of
/// admissions for an image on an unreachable registry does not become a storm of connections.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub ttl: Duration,
    pub failure_ttl: Duration,
    /// Entries per cache (tags resolved; signature sets read). `0` turns caching off.
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            failure_ttl: Duration::from_secs(10),
            max_entries: 10_000,
        }
    }
}

/// A username and password for one registry: sent as HTTP basic to the registry itself, or to
/// its token service in the bearer flow. `Debug` shows the username only.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: SecretString,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: SecretString) -> Self {
        Self {
            username: username.into(),
            password,
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &str {
        self.password.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Docker Hub answers under several names; image references call it `docker.io`.
pub(crate) fn canonical_registry(registry: &str) -> String {
    let registry = registry.trim().to_ascii_lowercase();
    match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => registry,
    }
}

/// The host (and port) that serves the API for `registry`: Docker Hub's API is not at `docker.io`.
pub(crate) fn api_host(registry: &str) -> String {
    match canonical_registry(registry).as_str() {
        "docker.io" => "registry-1.docker.io".to_owned(),
        other => other.to_owned(),
    }
}

/// The repository path as the API wants it: Docker Hub's official images live under `library/`.
pub(crate) fn api_repository(registry: &str, repository: &str) -> String {
    if canonical_registry(registry) == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_owned()
    }
}

fn has_port(authority: &str) -> bool {
    if let Some(rest) = authority.strip_prefix('[') {
        // [::1]:5000
        return rest
            .split_once(']')
            .is_some_and(|(_, p)| p.starts_with(':'));
    }
    authority.contains(':')
}

fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(i) => &authority[..=i],
            None => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, _)) => host,
        None => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_is_reached_at_its_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("index.docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
        assert_eq!(api_host("localhost:5000"), "localhost:5000");
        assert_eq!(api_repository("docker.io", "nginx"), "library/nginx");
        assert_eq!(
            api_repository("docker.io", "bitnami/redis"),
            "bitnami/redis"
        );
        assert_eq!(api_repository("ghcr.io", "app"), "app");
    }

    #[test]
    fn plain_http_only_for_listed_hosts() {
        let c = RegistryConfig::default()
            .allowing_http("localhost")
            .allowing_http("127.0.0.1:5000")
            .allowing_http("[::1]:5001");
        assert!(c.http_allowed("localhost"));
        assert!(c.http_allowed("localhost:5000"));
        assert!(c.http_allowed("127.0.0.1:5000"));
        assert!(!c.http_allowed("127.0.0.1:5001"));
        assert!(!c.http_allowed("127.0.0.1"));
        assert!(c.http_allowed("[::1]:5001"));
        assert!(!c.http_allowed("[::1]:5000"));
        assert!(!c.http_allowed("ghcr.io"));
        assert!(!RegistryConfig::default().http_allowed("localhost:5000"));
    }

    #[test]
    fn credentials_are_found_by_any_name_of_the_registry() {
        let c = RegistryConfig::default().with_credentials(
            "index.docker.io",
            Credentials::new("ci", SecretString::from("hunter2")),
        );
        assert_eq!(
            c.credentials_for("docker.io").map(|c| c.username()),
            Some("ci")
        );
        assert!(c.credentials_for("ghcr.io").is_none());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = RegistryConfig::default().with_credentials(
            "ghcr.io",
            Credentials::new("ci", SecretString::from("hunter2")),
        );
        let shown = format!("{c:?}");
        assert!(shown.contains("ci"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
