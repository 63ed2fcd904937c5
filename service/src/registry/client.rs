//! The HTTP side: endpoints, authentication round trips, status and transport errors, bounded
//! and verified reads, blob uploads and manifest writes, and tag resolution.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use domain::{Digest, ImageReference};
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode, Url};
use serde::Deserialize;
use tracing::instrument;

use super::auth::{self, AuthState, Challenge};
use super::cache::TtlCache;
use super::config::{self, api_host, api_repository, canonical_registry};
use super::signatures::RegistrySignature;
use super::{Credentials, RegistryConfig, RegistryError};

/// Largest manifest we read; the OCI distribution spec has registries accept at least 4 MiB.
pub(super) const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Largest error or token body we read.
const MAX_SMALL_BODY: usize = 64 * 1024;

/// Every manifest kind a tag may point at, in the order we prefer them.
const ACCEPT_ANY_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// Keyed by (registry, repository, reference), as the registry would be asked.
pub(super) type CacheKey = (String, String, String);

/// A client for OCI registries. Cheap to clone; clones share connections, tokens and caches.
#[derive(Clone)]
pub struct RegistryClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    http: reqwest::Client,
    config: RegistryConfig,
    auth: AuthState,
    resolved: TtlCache<CacheKey, Digest>,
    pub(super) signatures: TtlCache<CacheKey, Vec<RegistrySignature>>,
    requests: AtomicU64,
    token_requests: AtomicU64,
}

/// Counters since the client was made, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryStats {
    /// HTTP requests sent, token requests included.
    pub requests: u64,
    /// Of those, requests to token services.
    pub token_requests: u64,
    /// Reads answered from the cache (or by joining a fetch already in flight).
    pub cache_hits: u64,
    /// Reads that went to the registry.
    pub cache_misses: u64,
}

/// A manifest as the registry served it, its digest verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    pub digest: Digest,
    /// The `Content-Type` the registry sent, if any.
    pub media_type: Option<String>,
    pub body: Vec<u8>,
}

/// Where one repository's API lives.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    /// The registry as image references name it (`docker.io`), for messages and cache keys.
    pub(super) registry: String,
    /// `host[:port]` that serves the API (`registry-1.docker.io`).
    host: String,
    /// The repository as the API names it (`library/nginx`).
    pub(super) repository: String,
    /// `scheme://host/`.
    origin: Url,
}

impl Endpoint {
    fn url(&self, kind: &str, reference: &str) -> Result<Url, RegistryError> {
        self.origin
            .join(&format!("v2/{}/{kind}/{reference}", self.repository))
            .map_err(|e| RegistryError::Invalid(format!("cannot form a URL for {reference}: {e}")))
    }

    pub(super) fn key(&self, reference: &str) -> CacheKey {
        (
            self.registry.clone(),
            self.repository.clone(),
            reference.to_owned(),
        )
    }
}

/// One request, replayable after an authentication challenge.
pub(super) struct Call<'a> {
    method: Method,
    url: Url,
    accept: Option<&'a str>,
    content_type: Option<&'a str>,
    body: Option<&'a [u8]>,
    /// Needs push rights (uploads, manifest writes), which decides the token scope.
    push: bool,
}

impl<'a> Call<'a> {
    fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            accept: None,
            content_type: None,
            body: None,
            push: false,
        }
    }
    fn accept(mut self, accept: &'a str) -> Self {
        self.accept = Some(accept);
        self
    }
    fn body(mut self, content_type: &'a str, body: &'a [u8]) -> Self {
        self.content_type = Some(content_type);
        self.body = Some(body);
        self
    }
    fn push(mut self) -> Self {
        self.push = true;
        self
    }
}

/// A redirect to plain HTTP for a host not in `allow_http`; carried out of reqwest as the source
/// of its redirect error.
#[derive(Debug)]
struct PlainHttpRedirect {
    host: String,
}

impl std::fmt::Display for PlainHttpRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to plain HTTP at {}", self.host)
    }
}

impl std::error::Error for PlainHttpRedirect {}

impl RegistryClient {
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        let allow_http = config.allow_http.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                return attempt.error("more than 10 redirects");
            }
            let url = attempt.url();
            let permitted = match url.scheme() {
                "https" => true,
                "http" => config::http_allowed(&allow_http, &authority(url)),
                _ => false,
            };
            if permitted {
                attempt.follow()
            } else {
                let host = authority(attempt.url());
                attempt.error(PlainHttpRedirect { host })
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(redirects)
            .user_agent(config.user_agent.clone());
        for pem in &config.ca_certificates_pem {
            let certificates =
                reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                    RegistryError::Invalid(format!(
                        "a CA certificate for registries cannot be read: {}",
                        error_chain(&e)
                    ))
                })?;
            if certificates.is_empty() {
                return Err(RegistryError::Invalid(
                    "a CA certificate for registries holds no PEM certificate".to_owned(),
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|e| {
            RegistryError::Invalid(format!(
                "the registry client cannot be set up: {}",
                error_chain(&e)
            ))
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                auth: AuthState::default(),
                resolved: TtlCache::new(config.cache.clone()),
                signatures: TtlCache::new(config.cache.clone()),
                config,
                requests: AtomicU64::new(0),
                token_requests: AtomicU64::new(0),
            }),
        })
    }

    pub fn stats(&self) -> RegistryStats {
        let i = &self.inner;
        RegistryStats {
            requests: i.requests.load(Ordering::Relaxed),
            token_requests: i.token_requests.load(Ordering::Relaxed),
            cache_hits: i.resolved.hits() + i.signatures.hits(),
            cache_misses: i.resolved.misses() + i.signatures.misses(),
        }
    }

    /// The digest `image` names: its own digest if it carries one (no request is made), else
    /// the digest of the manifest its tag (`latest` if none) points at now. Cached.
    #[instrument(skip_all, fields(image = %image))]
    pub async fn resolve(&self, image: &ImageReference) -> Result<Digest, RegistryError> {
        if let Some(digest) = image.digest() {
            return Ok(digest.clone());
        }
        let tag = image.tag().unwrap_or("latest");
        let endpoint = self.endpoint(image)?;
        self.inner
            .resolved
            .get_or_fetch(endpoint.key(tag), || self.resolve_uncached(&endpoint, tag))
            .await
    }

    /// `HEAD` first (cheap, and free of Docker Hub's pull limits); `GET` when the registry sends
    /// no usable `Docker-Content-Digest`, hashing the manifest ourselves.
    async fn resolve_uncached(&self, ep: &Endpoint, tag: &str) -> Result<Digest, RegistryError> {
        let url = ep.url("manifests", tag)?;
        let response = self
            .send(
                ep,
                &Call::new(Method::HEAD, url).accept(ACCEPT_ANY_MANIFEST),
            )
            .await?;
        let status = response.status();
        if status.is_success() {
            if let Some(digest) = header_digest(response.headers()) {
                return Ok(digest);
            }
        } else if matches!(
            status,
            StatusCode::NOT_FOUND
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::TOO_MANY_REQUESTS
        ) {
            return Err(self.status_error(ep, response, &format!("tag {tag}")).await);
        }
        Ok(self
            .fetch_manifest(ep, tag, ACCEPT_ANY_MANIFEST)
            .await?
            .digest)
    }

    /// The manifest at `reference` (a tag or a digest) in `image`'s repository, uncached.
    #[instrument(skip_all, fields(image = %image, reference))]
    pub async fn get_manifest(
        &self,
        image: &ImageReference,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let ep = self.endpoint(image)?;
        self.fetch_manifest(&ep, reference, ACCEPT_ANY_MANIFEST)
            .await
    }

    /// Stores a manifest under `reference` (a tag, or its own digest) and returns its digest.
    #[instrument(skip_all, fields(image = %image, reference))]
    pub async fn put_manifest(
        &self,
        image: &ImageReference,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest, RegistryError> {
        let ep = self.endpoint(image)?;
        self.store_manifest(&ep, reference, media_type, body).await
    }

    /// The blob `digest` in `image`'s repository, at most `max_bytes`, its digest verified.
    #[instrument(skip_all, fields(image = %image, digest = %digest))]
    pub async fn get_blob(
        &self,
        image: &ImageReference,
        digest: &Digest,
        max_bytes: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let ep = self.endpoint(image)?;
        self.fetch_blob(&ep, digest, None, max_bytes).await
    }

    /// Uploads `bytes` as a blob to `image`'s repository unless it is there already.
    #[instrument(skip_all, fields(image = %image, size = bytes.len()))]
    pub async fn upload_blob(
        &self,
        image: &ImageReference,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let ep = self.endpoint(image)?;
        self.push_blob(&ep, bytes).await
    }

    pub(super) fn endpoint(&self, image: &ImageReference) -> Result<Endpoint, RegistryError> {
        let registry = canonical_registry(image.registry());
        let host = api_host(&registry);
        let plausible = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !plausible {
            return Err(RegistryError::Invalid(format!(
                "{registry:?} is not a registry host name"
            )));
        }
        let config = &self.inner.config;
        let scheme = if config.http_allowed(&host) || config.http_allowed(&registry) {
            "http"
        } else {
            "https"
        };
        let origin = Url::parse(&format!("{scheme}://{host}/")).map_err(|e| {
            RegistryError::Invalid(format!("{registry:?} is not a registry host name: {e}"))
        })?;
        Ok(Endpoint {
            repository: api_repository(&registry, image.repository()),
            registry,
            host,
            origin,
        })
    }

    pub(super) async fn fetch_manifest(
        &self,
        ep: &Endpoint,
        reference: &str,
        accept: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let what = if reference.starts_with("sha256:") {
            format!("manifest {reference}")
        } else {
            format!("tag {reference}")
        };
        let url = ep.url("manifests", reference)?;
        let mut response = self
            .send(ep, &Call::new(Method::GET, url).accept(accept))
            .await?;
        if !response.status().is_success() {
            return Err(self.status_error(ep, response, &what).await);
        }
        let claimed = response
            .headers()
            .get(DOCKER_CONTENT_DIGEST)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned());
        let media_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let body = self
            .read_body(ep, &mut response, MAX_MANIFEST_BYTES, &what)
            .await?;
        let digest = Digest::of(&body);
        if let Some(claimed) = claimed.filter(|c| c.starts_with("sha256:")) {
            if claimed != digest.as_str() {
                return Err(self.malformed(
                    ep,
                    format!(
                        "the {what} hashes to {digest}, but its Docker-Content-Digest says {claimed}"
                    ),
                ));
            }
        }
        if let Ok(asked) = Digest::parse(reference) {
            if asked != digest {
                return Err(self.malformed(ep, format!("the {what} it served hashes to {digest}")));
            }
        }
        Ok(FetchedManifest {
            digest,
            media_type,
            body,
        })
    }

    pub(super) async fn store_manifest(
        &self,
        ep: &Endpoint,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest, RegistryError> {
        let what = format!("manifest {reference}");
        let url = ep.url("manifests", reference)?;
        let response = self
            .send(
                ep,
                &Call::new(Method::PUT, url).body(media_type, body).push(),
            )
            .await?;
        if !response.status().is_success() {
            return Err(self.status_error(ep, response, &what).await);
        }
        let digest = Digest::of(body);
        self.check_claimed_digest(ep, response.headers(), &digest, &what)?;
        Ok(digest)
    }

    /// Reads blob `digest`, refusing it if larger than `max_bytes`, if its content does not hash
    /// to `digest`, or if it is not `expected_size` long.
    pub(super) async fn fetch_blob(
        &self,
        ep: &Endpoint,
        digest: &Digest,
        expected_size: Option<u64>,
        max_bytes: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("blob {digest}");
        let url = ep.url("blobs", digest.as_str())?;
        let mut response = self.send(ep, &Call::new(Method::GET, url)).await?;
        if !response.status().is_success() {
            return Err(self.status_error(ep, response, &what).await);
        }
        let body = self.read_body(ep, &mut response, max_bytes, &what).await?;
        let actual = Digest::of(&body);
        if actual != *digest {
            return Err(self.malformed(
                ep,
                format!("the content of {what} hashes to {actual}: it was altered"),
            ));
        }
        if let Some(size) = expected_size {
            if u64::try_from(body.len()).ok() != Some(size) {
                return Err(self.malformed(
                    ep,
                    format!("{what} is {} bytes, its descriptor says {size}", body.len()),
                ));
            }
        }
        Ok(body)
    }

    /// Uploads a blob the two-step way every registry supports: `POST` opens an upload session,
    /// `PUT …?digest=` at its `Location` completes it.
    pub(super) async fn push_blob(
        &self,
        ep: &Endpoint,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        let what = format!("blob {digest}");
        let head = self
            .send(
                ep,
                &Call::new(Method::HEAD, ep.url("blobs", digest.as_str())?).push(),
            )
            .await?;
        if head.status().is_success() {
            return Ok(digest);
        }
        let start = self
            .send(
                ep,
                &Call::new(Method::POST, ep.url("blobs/uploads", "")?)
                    .body("application/octet-stream", &[])
                    .push(),
            )
            .await?;
        if !start.status().is_success() {
            return Err(self
                .status_error(ep, start, &format!("upload of {what}"))
                .await);
        }
        let location = start
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                self.malformed(
                    ep,
                    "an upload was opened without a Location header".to_owned(),
                )
            })?;
        let mut url = ep.origin.join(location).map_err(|e| {
            self.malformed(
                ep,
                format!("upload location {location:?} is not a URL: {e}"),
            )
        })?;
        self.check_scheme(ep, &url)?;
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let done = self
            .send(
                ep,
                &Call::new(Method::PUT, url)
                    .body("application/octet-stream", bytes)
                    .push(),
            )
            .await?;
        if !done.status().is_success() {
            return Err(self
                .status_error(ep, done, &format!("upload of {what}"))
                .await);
        }
        self.check_claimed_digest(ep, done.headers(), &digest, &what)?;
        Ok(digest)
    }

    /// Sends `call`, answering one authentication challenge: a bearer challenge with a token
    /// from the realm it names, a basic challenge with the registry's credentials.
    async fn send(&self, ep: &Endpoint, call: &Call<'_>) -> Result<Response, RegistryError> {
        let scope = scope(&ep.repository, call.push);
        let credentials = self.inner.config.credentials_for(&ep.registry);
        let mut authorization = self.inner.auth.preemptive(&ep.host, &scope, credentials);
        let mut answered_challenge = false;
        loop {
            let response = self.execute(ep, call, authorization.as_ref()).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            if answered_challenge {
                self.inner.auth.forget_token(&ep.host, &scope);
                return Err(self.refused(ep, response, credentials).await);
            }
            answered_challenge = true;
            let challenge = auth::parse_challenges(
                response
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            authorization = match challenge {
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope: asked,
                }) => Some(
                    self.fetch_token(
                        ep,
                        &realm,
                        service.as_deref(),
                        &scope,
                        asked.as_deref(),
                        credentials,
                    )
                    .await?,
                ),
                Some(Challenge::Basic) => match credentials.and_then(auth::basic_header) {
                    Some(header) => {
                        self.inner.auth.remember_basic(&ep.host);
                        Some(header)
                    }
                    None => return Err(self.refused(ep, response, credentials).await),
                },
                None => return Err(self.refused(ep, response, credentials).await),
            };
        }
    }

    async fn execute(
        &self,
        ep: &Endpoint,
        call: &Call<'_>,
        authorization: Option<&HeaderValue>,
    ) -> Result<Response, RegistryError> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone());
        if let Some(accept) = call.accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(content_type) = call.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = call.body {
            request = request.body(body.to_vec());
        }
        // Credentials go only to the registry's own host, not to a storage backend an upload
        // location points at.
        if let Some(authorization) = authorization.filter(|_| authority(&call.url) == ep.host) {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(method = %call.method, path = call.url.path(), "registry request");
        request
            .send()
            .await
            .map_err(|e| self.transport_error(ep, &e))
    }

    async fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        asked_scope: Option<&str>,
        credentials: Option<&Credentials>,
    ) -> Result<HeaderValue, RegistryError> {
        let mut url = Url::parse(realm).map_err(|e| {
            self.malformed(ep, format!("its token realm {realm:?} is not a URL: {e}"))
        })?;
        self.check_scheme(ep, &url)?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", scope);
            if let Some(asked) = asked_scope.filter(|a| *a != scope && !a.is_empty()) {
                query.append_pair("scope", asked);
            }
        }
        let mut request = self.inner.http.get(url.clone());
        if let Some(header) = credentials.and_then(auth::basic_header) {
            request = request.header(AUTHORIZATION, header);
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.token_requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(realm = %authority(&url), "registry token request");
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport_error(ep, &e))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let who = match credentials {
                Some(c) => format!("the credentials of user {:?}", c.username()),
                None => "anonymous access (no credentials are configured for it)".to_owned(),
            };
            return Err(RegistryError::AuthRefused {
                registry: ep.registry.clone(),
                repository: ep.repository.clone(),
                detail: format!("its token service at {} refused {who}", authority(&url)),
            });
        }
        if !status.is_success() {
            return Err(self.status_error(ep, response, "token").await);
        }
        let body = self
            .read_body(ep, &mut response, MAX_SMALL_BODY, "token")
            .await?;
        let (token, ttl) = serde_json::from_slice::<auth::TokenResponse>(&body)
            .ok()
            .and_then(auth::TokenResponse::into_token)
            .ok_or_else(|| {
                self.malformed(ep, "its token service answered without a token".to_owned())
            })?;
        let header = auth::bearer_header(&token).ok_or_else(|| {
            self.malformed(ep, "its token service sent an unusable token".to_owned())
        })?;
        self.inner.auth.store_token(&ep.host, scope, token, ttl);
        Ok(header)
    }

    fn check_scheme(&self, ep: &Endpoint, url: &Url) -> Result<(), RegistryError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.inner.config.http_allowed(&authority(url)) => Ok(()),
            "http" => Err(RegistryError::PlainHttpRefused {
                registry: ep.registry.clone(),
                host: authority(url),
            }),
            other => Err(self.malformed(ep, format!("it pointed to an {other}: URL"))),
        }
    }

    fn check_claimed_digest(
        &self,
        ep: &Endpoint,
        headers: &HeaderMap,
        digest: &Digest,
        what: &str,
    ) -> Result<(), RegistryError> {
        match headers
            .get(DOCKER_CONTENT_DIGEST)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
        {
            Some(claimed) if claimed.starts_with("sha256:") && claimed != digest.as_str() => {
                Err(self.malformed(
                    ep,
                    format!("it stored {what} as {claimed}, which is not its digest"),
                ))
            }
            _ => Ok(()),
        }
    }

    async fn read_body(
        &self,
        ep: &Endpoint,
        response: &mut Response,
        limit: usize,
        what: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let too_large = || self.malformed(ep, format!("the {what} is larger than {limit} bytes"));
        if response
            .content_length()
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > limit))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(ep, &e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The error for an unsuccessful status, with the registry's own explanation when it gave
    /// one (the distribution spec's `{"errors":[{"code","message"}]}`).
    async fn status_error(
        &self,
        ep: &Endpoint,
        mut response: Response,
        what: &str,
    ) -> RegistryError {
        let status = response.status();
        let body = self
            .read_body(ep, &mut response, MAX_SMALL_BODY, "error")
            .await
            .unwrap_or_default();
        let detail = error_detail(&body);
        match status {
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                registry: ep.registry.clone(),
                repository: ep.repository.clone(),
                reference: what.to_owned(),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::AuthRefused {
                registry: ep.registry.clone(),
                repository: ep.repository.clone(),
                detail: if detail.is_empty() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    detail
                },
            },
            _ => RegistryError::Status {
                registry: ep.registry.clone(),
                status: status.as_u16(),
                detail: if detail.is_empty() {
                    format!("while reading {what}")
                } else {
                    format!("{detail} (while reading {what})")
                },
            },
        }
    }

    async fn refused(
        &self,
        ep: &Endpoint,
        mut response: Response,
        credentials: Option<&Credentials>,
    ) -> RegistryError {
        let body = self
            .read_body(ep, &mut response, MAX_SMALL_BODY, "error")
            .await
            .unwrap_or_default();
        let said = error_detail(&body);
        let who = match credentials {
            Some(c) => format!("the credentials of user {:?} were refused", c.username()),
            None => format!(
                "it requires credentials and none are configured for {}",
                ep.registry
            ),
        };
        RegistryError::AuthRefused {
            registry: ep.registry.clone(),
            repository: ep.repository.clone(),
            detail: if said.is_empty() {
                who
            } else {
                format!("{who} ({said})")
            },
        }
    }

    pub(super) fn malformed(&self, ep: &Endpoint, detail: String) -> RegistryError {
        RegistryError::Malformed {
            registry: ep.registry.clone(),
            detail,
        }
    }

    fn transport_error(&self, ep: &Endpoint, e: &reqwest::Error) -> RegistryError {
        let registry = ep.registry.clone();
        if let Some(redirect) = find_source::<PlainHttpRedirect>(e) {
            return RegistryError::PlainHttpRefused {
                registry,
                host: redirect.host.clone(),
            };
        }
        if e.is_timeout() {
            let config = &self.inner.config;
            let (phase, after) = if e.is_connect() {
                ("connect", config.connect_timeout)
            } else {
                ("total", config.timeout)
            };
            return RegistryError::Timeout {
                registry,
                phase,
                after,
            };
        }
        let detail = error_chain(e);
        if e.is_connect() && looks_like_tls(&detail) {
            return RegistryError::Tls { registry, detail };
        }
        RegistryError::Unreachable { registry, detail }
    }
}

/// `repository:<name>:pull` or `…:pull,push`, the scope a token must carry.
fn scope(repository: &str, push: bool) -> String {
    if push {
        format!("repository:{repository}:pull,push")
    } else {
        format!("repository:{repository}:pull")
    }
}

fn header_digest(headers: &HeaderMap) -> Option<Digest> {
    headers
        .get(DOCKER_CONTENT_DIGEST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Digest::parse(v).ok())
}

/// `host` or `host:port` of a URL, as `allow_http` and image references write it.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A registry's explanation, short and printable: its error codes and messages, else the start
/// of its text.
fn error_detail(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) if !parsed.errors.is_empty() => parsed
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.chars().count() > 300 {
        format!("{}…", trimmed.chars().take(300).collect::<String>())
    } else {
        trimmed
    }
}

/// The causes of a transport error, without the URL (which may carry upload state).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(err) = source {
        let text = err.to_string();
        // hyper's wrapper ("client error (Connect)") says nothing its cause does not.
        let wrapper = text.starts_with("client error (") && err.source().is_some();
        if !wrapper && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    if parts.is_empty() {
        return match e.downcast_ref::<reqwest::Error>() {
            Some(r) if r.is_timeout() => "timed out".to_owned(),
            _ => e.to_string(),
        };
    }
    parts.join(": ")
}

fn looks_like_tls(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    [
        "tls",
        "certificate",
        "corrupt message",
        "handshake",
        "invalidcontenttype",
    ]
    .iter()
    .any(|needle| d.contains(needle))
}

fn find_source<'e, T: std::error::Error + 'static>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::media_type::{
        DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
    };
    use super::*;

    #[test]
    fn error_details_are_short_and_printable() {
        assert_eq!(
            error_detail(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v9"}}]}"#),
            "MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(
            error_detail(b"Client sent an HTTP request\r\n to an HTTPS server.\n"),
            "Client sent an HTTP request to an HTTPS server."
        );
        assert_eq!(error_detail(b""), "");
        assert_eq!(
            error_detail("x".repeat(1000).as_bytes()).chars().count(),
            301
        );
    }

    #[test]
    fn endpoints_follow_docker_hub_naming_and_allow_http() {
        let client =
            RegistryClient::new(RegistryConfig::default().allowing_http("localhost:5000")).unwrap();
        let ep = client
            .endpoint(&ImageReference::parse("nginx:1.27").unwrap())
            .unwrap();
        assert_eq!(ep.registry, "docker.io");
        assert_eq!(
            ep.url("manifests", "1.27").unwrap().as_str(),
            "https://registry-1.docker.io/v2/library/nginx/manifests/1.27"
        );
        let ep = client
            .endpoint(&ImageReference::parse("localhost:5000/team/app").unwrap())
            .unwrap();
        assert_eq!(
            ep.url("blobs/uploads", "").unwrap().as_str(),
            "http://localhost:5000/v2/team/app/blobs/uploads/"
        );
        let ep = client
            .endpoint(&ImageReference::parse("localhost:5001/team/app").unwrap())
            .unwrap();
        assert_eq!(ep.origin.scheme(), "https");
    }

    #[test]
    fn upload_locations_may_be_relative_or_absolute() {
        let origin = Url::parse("http://127.0.0.1:5000/").unwrap();
        let rel = origin.join("/v2/a/blobs/uploads/123?_state=x").unwrap();
        assert_eq!(
            rel.as_str(),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/123?_state=x"
        );
        let abs = origin.join("https://storage.example/upload/1").unwrap();
        assert_eq!(abs.as_str(), "https://storage.example/upload/1");
        assert_eq!(authority(&abs), "storage.example");
        assert_eq!(authority(&rel), "127.0.0.1:5000");
    }

    #[test]
    fn scopes_name_the_repository_and_rights() {
        assert_eq!(scope("a/b", false), "repository:a/b:pull");
        assert_eq!(scope("a/b", true), "repository:a/b:pull,push");
        for kind in [
            OCI_MANIFEST,
            OCI_INDEX,
            DOCKER_MANIFEST,
            DOCKER_MANIFEST_LIST,
        ] {
            assert!(ACCEPT_ANY_MANIFEST.contains(kind), "{kind}");
        }
    }
}
