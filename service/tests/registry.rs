//! The registry client against a real registry: Debian's `docker-registry` (distribution 2.8),
//! started per test on a free port, plain, with htpasswd, with TLS from a private CA, or with
//! token authentication in front of which a small in-test token service (axum) issues real
//! signed JWTs that the registry verifies. Nothing on the registry side is simulated.
//!
//! `docker-registry` must be installed (`scripts/lib/registry.sh` `ensure_registry_tools`);
//! without it these tests fail, they do not skip. `openssl` makes the certificates.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use domain::{Digest, ImageReference};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use secrecy::SecretString;
use serde_json::json;
use service::registry::media_type::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use service::registry::{
    signature_tag, CacheConfig, Credentials, RegistryClient, RegistryConfig, RegistryError,
};

// ---------------------------------------------------------------------------------------------
// A real registry process

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "trustwatch-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum RegistryAuth {
    Anonymous,
    Htpasswd {
        username: String,
        password: String,
    },
    Token {
        realm: String,
        service: String,
        issuer: String,
        root_certificate: PathBuf,
    },
}

/// TLS for the registry: certificate chain and key files.
struct ServerTls {
    certificate: PathBuf,
    key: PathBuf,
}

/// `docker-registry serve` on 127.0.0.1 and a free port, stopped (by its pid) on drop.
struct TestRegistry {
    child: Child,
    dir: TempDir,
    addr: String,
}

fn require_docker_registry() {
    match Command::new("docker-registry").arg("--version").output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "the `docker-registry` binary is not installed, and these tests need a real registry: \
             install Debian's package with `apt-get install docker-registry` (`ensure_registry_tools` \
             in scripts/lib/registry.sh does that)"
        ),
        Err(e) => panic!("cannot run docker-registry: {e}"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl TestRegistry {
    fn start(auth: RegistryAuth) -> Self {
        Self::start_with(auth, None)
    }

    fn start_with(auth: RegistryAuth, tls: Option<ServerTls>) -> Self {
        Self::start_full(auth, tls, false)
    }

    /// `relative_urls`: the registry sends upload `Location`s as paths instead of full URLs.
    fn start_full(auth: RegistryAuth, tls: Option<ServerTls>, relative_urls: bool) -> Self {
        require_docker_registry();
        let dir = TempDir::new("registry");
        let mut last_log = String::new();
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let mut config = format!(
                "version: 0.1\n\
                 log: {{level: warn}}\n\
                 storage:\n  cache: {{blobdescriptor: inmemory}}\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\n\
                 http:\n  addr: \"{addr}\"\n  relativeurls: {relative_urls}\n",
                dir.path().join("data").display()
            );
            if let Some(tls) = &tls {
                config.push_str(&format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    tls.certificate.display(),
                    tls.key.display()
                ));
            }
            match &auth {
                RegistryAuth::Anonymous => {}
                RegistryAuth::Htpasswd { username, password } => {
                    let hash = bcrypt::hash(password, 4).expect("bcrypt");
                    let file = dir.path().join("htpasswd");
                    std::fs::write(&file, format!("{username}:{hash}\n")).expect("htpasswd");
                    config.push_str(&format!(
                        "auth:\n  htpasswd:\n    realm: trustwatch-test\n    path: {}\n",
                        file.display()
                    ));
                }
                RegistryAuth::Token {
                    realm,
                    service,
                    issuer,
                    root_certificate,
                } => config.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                    root_certificate.display()
                )),
            }
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).expect("registry config");
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path).expect("registry log");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            if wait_until_listening(&addr, &mut child, Duration::from_secs(15)) {
                return Self { child, dir, addr };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if !last_log.contains("address already in use") {
                break;
            }
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    fn image(&self, name: &str) -> ImageReference {
        ImageReference::parse(&format!("{}/{name}", self.addr)).expect("an image reference")
    }

    /// Where the registry keeps a blob's bytes on disk (distribution's filesystem layout).
    fn blob_file(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True once something answers HTTP (any status; a TLS port answers plain HTTP with a 400).
fn wait_until_listening(addr: &str, child: &mut Child, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut answer = [0u8; 5];
            if stream
                .write_all(b"GET /v2/ HTTP/1.0\r\nHost: probe\r\n\r\n")
                .is_ok()
                && stream.read_exact(&mut answer).is_ok()
                && &answer == b"HTTP/"
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl is needed to make test certificates: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Clients and images

fn plain_client(registry: &TestRegistry) -> RegistryClient {
    client_with(registry, |c| c)
}

fn client_with(
    registry: &TestRegistry,
    adjust: impl FnOnce(RegistryConfig) -> RegistryConfig,
) -> RegistryClient {
    let config = RegistryConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ..RegistryConfig::default()
    }
    .allowing_http(&registry.addr);
    RegistryClient::new(adjust(config)).expect("a registry client")
}

fn uncached(config: RegistryConfig) -> RegistryConfig {
    RegistryConfig {
        cache: CacheConfig {
            max_entries: 0,
            ..CacheConfig::default()
        },
        ..config
    }
}

/// Pushes a one-layer image under `image`'s tag by hand (layer, config, OCI manifest) and
/// returns the manifest's digest, computed here from the bytes sent.
async fn push_image(client: &RegistryClient, image: &ImageReference, content: &str) -> Digest {
    let layer = content.as_bytes();
    let layer_digest = client
        .upload_blob(image, layer)
        .await
        .expect("layer upload");
    assert_eq!(layer_digest, Digest::of(layer));
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.as_str()]},
    }))
    .expect("config json");
    let config_digest = client
        .upload_blob(image, &config)
        .await
        .expect("config upload");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest.as_str(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.as_str(), "size": layer.len()}],
    }))
    .expect("manifest json");
    let tag = image.tag().expect("push_image needs a tagged reference");
    let stored = client
        .put_manifest(image, tag, OCI_MANIFEST, &manifest)
        .await
        .expect("manifest upload");
    assert_eq!(stored, Digest::of(&manifest));
    stored
}

/// A cosign simple-signing payload for `digest`, exactly as cosign writes it.
fn cosign_payload(image: &ImageReference, digest: &Digest) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#,
        image.name()
    )
    .into_bytes()
}

/// The same claim as skopeo writes it: tag in the identity, `optional` with creator and time.
fn skopeo_payload(image: &ImageReference, digest: &Digest) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{image}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":{{"creator":"containers/image 5.34.0","timestamp":1735689600}}}}"#
    )
    .into_bytes()
}

fn sign(key: &p256::ecdsa::SigningKey, payload: &[u8]) -> Vec<u8> {
    let signature: p256::ecdsa::Signature = key.sign(payload);
    signature.to_der().as_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// Resolving

#[tokio::test]
async fn resolves_tags_of_every_manifest_kind_to_their_digests() {
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let client = client_with(&registry, uncached);
    let v1 = registry.image("demo/app:v1");
    let d1 = push_image(&client, &v1, "hello v1").await;

    assert_eq!(client.resolve(&v1).await.expect("resolve v1"), d1);
    // The registry agrees (its own digest header on a plain GET).
    let fetched = client.get_manifest(&v1, "v1").await.expect("manifest");
    assert_eq!(fetched.digest, d1);
    assert_eq!(fetched.media_type.as_deref(), Some(OCI_MANIFEST));

    // An OCI index and a Docker manifest list over it, and a Docker schema 2 manifest: each
    // resolves to the digest of the bytes pushed, so the right Accept headers went out (a
    // registry converts or refuses what the client does not accept).
    let entry = json!({"mediaType": OCI_MANIFEST, "digest": d1.as_str(), "size": fetched.body.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}});
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}),
    )
    .expect("index json");
    client
        .put_manifest(&v1, "multi", OCI_INDEX, &index)
        .await
        .expect("push index");
    assert_eq!(
        client
            .resolve(&registry.image("demo/app:multi"))
            .await
            .expect("resolve index"),
        Digest::of(&index)
    );

    let layer = b"docker layer";
    let layer_digest = client.upload_blob(&v1, layer).await.expect("layer");
    let config = br#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = client.upload_blob(&v1, config).await.expect("config");
    let docker = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest.as_str(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer_digest.as_str(), "size": layer.len()}],
    }))
    .expect("docker manifest json");
    client
        .put_manifest(&v1, "docker", DOCKER_MANIFEST, &docker)
        .await
        .expect("push docker manifest");
    assert_eq!(
        client
            .resolve(&registry.image("demo/app:docker"))
            .await
            .expect("resolve docker"),
        Digest::of(&docker)
    );
    let list_entry = json!({"mediaType": DOCKER_MANIFEST, "digest": Digest::of(&docker).as_str(), "size": docker.len(),
                            "platform": {"architecture": "amd64", "os": "linux"}});
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": [list_entry]}),
    )
    .expect("list json");
    client
        .put_manifest(&v1, "list", DOCKER_MANIFEST_LIST, &list)
        .await
        .expect("push manifest list");
    assert_eq!(
        client
            .resolve(&registry.image("demo/app:list"))
            .await
            .expect("resolve list"),
        Digest::of(&list)
    );

    // No tag means latest.
    let latest = registry.image("demo/app:latest");
    let d_latest = push_image(&client, &latest, "latest").await;
    assert_eq!(
        client
            .resolve(&registry.image("demo/app"))
            .await
            .expect("resolve"),
        d_latest
    );

    // A reference that carries its digest needs no request.
    let before = client.stats().requests;
    let pinned = registry.image(&format!("demo/app:v1@{d1}"));
    assert_eq!(client.resolve(&pinned).await.expect("pinned"), d1);
    assert_eq!(client.stats().requests, before);

    // Missing tags and repositories are NotFound, with a message an operator can read.
    let err = client
        .resolve(&registry.image("demo/app:v9"))
        .await
        .expect_err("no such tag");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("tag v9 not found in {}/demo/app", registry.addr)
    );
    let err = client
        .resolve(&registry.image("nobody/here:v1"))
        .await
        .expect_err("no such repository");
    assert!(err.is_not_found(), "{err:?}");
    assert!(!err.is_unreachable());
    // Fetching a manifest by a digest the registry does not have.
    let err = client
        .get_manifest(&v1, Digest::of(b"nothing").as_str())
        .await
        .expect_err("no such manifest");
    assert!(err.is_not_found(), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Signatures

#[tokio::test]
async fn an_unsigned_image_has_no_signatures() {
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let client = plain_client(&registry);
    let image = registry.image("demo/app:v2");
    let digest = push_image(&client, &image, "unsigned").await;
    assert_eq!(
        client.signatures(&image, &digest).await.expect("read"),
        Vec::new()
    );
    // Also for a repository that does not exist at all.
    let other = registry.image("nobody/here:v1");
    assert_eq!(
        client.signatures(&other, &digest).await.expect("read"),
        Vec::new()
    );
}

#[tokio::test]
async fn pushes_signatures_and_reads_them_back_exactly() {
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let client = plain_client(&registry);
    let image = registry.image("demo/app:v1");
    let digest = push_image(&client, &image, "hello from the signing test\n").await;
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);

    // Cached "unsigned" first, so the push must invalidate it.
    assert!(client
        .signatures(&image, &digest)
        .await
        .expect("read")
        .is_empty());

    let first_payload = cosign_payload(&image, &digest);
    let first_signature = sign(&key, &first_payload);
    let pushed = client
        .push_signature(&image, &digest, &first_payload, &first_signature)
        .await
        .expect("push first");
    assert!(pushed.appended);
    assert_eq!(pushed.signatures, 1);
    assert_eq!(pushed.layer_digest, Digest::of(&first_payload));

    let second_payload = skopeo_payload(&image, &digest);
    let second_signature = sign(&key, &second_payload);
    let pushed = client
        .push_signature(&image, &digest, &second_payload, &second_signature)
        .await
        .expect("push second");
    assert!(pushed.appended);
    assert_eq!(pushed.signatures, 2);

    let read = client.signatures(&image, &digest).await.expect("read back");
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].payload, first_payload);
    assert_eq!(read[0].signature, first_signature);
    assert_eq!(read[0].layer_digest, Digest::of(&first_payload));
    assert_eq!(read[1].payload, second_payload);
    assert_eq!(read[1].signature, second_signature);
    // The bytes that came back verify: nothing was re-encoded on the way.
    for s in &read {
        let signature = p256::ecdsa::Signature::from_der(&s.signature).expect("DER signature");
        key.verifying_key()
            .verify(&s.payload, &signature)
            .expect("the signature verifies over the exact payload");
    }

    // Signing again with the identical layer adds nothing.
    let again = client
        .push_signature(&image, &digest, &first_payload, &first_signature)
        .await
        .expect("push again");
    assert!(!again.appended);
    assert_eq!(again.signatures, 2);
    assert_eq!(
        client
            .signatures(&image, &digest)
            .await
            .expect("read")
            .len(),
        2
    );

    // The stored layout is cosign's: an OCI manifest under sha256-<hex>.sig, one
    // simple-signing layer per signature with its base64 signature, and a config blob that
    // exists and lists the layers.
    let manifest = client
        .get_manifest(&image, &signature_tag(&digest))
        .await
        .expect("sig manifest");
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.body).expect("json");
    assert_eq!(manifest["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], OCI_CONFIG);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2);
    for (layer, (payload, signature)) in layers.iter().zip([
        (&first_payload, &first_signature),
        (&second_payload, &second_signature),
    ]) {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.dev.cosign.simplesigning.v1+json"
        );
        assert_eq!(layer["digest"], Digest::of(payload).as_str());
        assert_eq!(layer["size"], payload.len());
        assert_eq!(
            layer["annotations"]["dev.cosignproject.cosign/signature"],
            base64::engine::general_purpose::STANDARD.encode(signature)
        );
    }
    let config_digest = Digest::parse(
        manifest["config"]["digest"]
            .as_str()
            .expect("config digest"),
    )
    .expect("digest");
    let config = client
        .get_blob(&image, &config_digest, 1 << 20)
        .await
        .expect("config blob");
    let config: serde_json::Value = serde_json::from_slice(&config).expect("config json");
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(2)
    );

    // Another digest in the same repository is still unsigned.
    let other = registry.image("demo/app:v2");
    let other_digest = push_image(&client, &other, "other").await;
    assert!(client
        .signatures(&other, &other_digest)
        .await
        .expect("read")
        .is_empty());
}

#[tokio::test]
async fn refuses_a_signature_whose_blob_was_altered_in_storage() {
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let client = client_with(&registry, uncached);
    let image = registry.image("demo/app:v1");
    let digest = push_image(&client, &image, "tamper target").await;
    let payload = cosign_payload(&image, &digest);
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    client
        .push_signature(&image, &digest, &payload, &sign(&key, &payload))
        .await
        .expect("push");
    assert_eq!(
        client
            .signatures(&image, &digest)
            .await
            .expect("read")
            .len(),
        1
    );

    // Flip one byte of the payload where the registry keeps it (same length, so the registry
    // still serves it as that blob).
    let file = registry.blob_file(&Digest::of(&payload));
    let mut bytes = std::fs::read(&file).expect("stored payload");
    assert_eq!(bytes, payload);
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&file, &bytes).expect("tamper");

    let err = client
        .signatures(&image, &digest)
        .await
        .expect_err("an altered payload must not be returned");
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("altered"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn basic_auth_against_an_htpasswd_registry() {
    let password = "correct horse battery staple";
    let registry = TestRegistry::start(RegistryAuth::Htpasswd {
        username: "ci".into(),
        password: password.into(),
    });
    let image = registry.image("demo/app:v1");

    let anonymous = client_with(&registry, uncached);
    let err = push_image_result(&anonymous, &image)
        .await
        .expect_err("anonymous push");
    assert!(err.is_auth_refused(), "{err:?}");
    assert!(err.to_string().contains("none are configured"), "{err}");
    let err = anonymous.resolve(&image).await.expect_err("anonymous read");
    assert!(err.is_auth_refused(), "{err:?}");

    let wrong_password = "not the password";
    let wrong = client_with(&registry, |c| {
        uncached(c).with_credentials(
            &registry.addr,
            Credentials::new("ci", SecretString::from(wrong_password)),
        )
    });
    let err = wrong.resolve(&image).await.expect_err("wrong password");
    assert!(err.is_auth_refused(), "{err:?}");
    assert!(err.to_string().contains("\"ci\""), "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong_password));

    let client = client_with(&registry, |c| {
        uncached(c).with_credentials(
            &registry.addr,
            Credentials::new("ci", SecretString::from(password)),
        )
    });
    let digest = push_image(&client, &image, "behind basic auth").await;
    assert_eq!(client.resolve(&image).await.expect("resolve"), digest);
    // Once the registry has asked for basic credentials, they go along up front: one request.
    let before = client.stats().requests;
    client.resolve(&image).await.expect("resolve again");
    assert_eq!(client.stats().requests - before, 1);

    let payload = cosign_payload(&image, &digest);
    client
        .push_signature(&image, &digest, &payload, b"sig")
        .await
        .expect("push signature");
    let read = client.signatures(&image, &digest).await.expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].payload, payload);
    assert_eq!(read[0].signature, b"sig");
}

#[tokio::test]
async fn an_image_pull_secret_logs_in_to_an_htpasswd_registry() {
    let password = "pull-secret password";
    let registry = TestRegistry::start(RegistryAuth::Htpasswd {
        username: "puller".into(),
        password: password.into(),
    });
    let image = registry.image("private/app:v1");
    // The `.dockerconfigjson` of `kubectl create secret docker-registry`: `auth` is the base64
    // of user:password, and the key may carry a scheme.
    let pull_secret = json!({
        "auths": {
            format!("http://{}", registry.addr): {
                "username": "puller",
                "password": password,
                "auth": base64::engine::general_purpose::STANDARD
                    .encode(format!("puller:{password}")),
            }
        }
    })
    .to_string();
    let client = client_with(&registry, |c| {
        uncached(c)
            .with_auth_file(&pull_secret)
            .expect("a valid pull secret")
    });
    let digest = push_image(&client, &image, "behind a pull secret").await;
    assert_eq!(client.resolve(&image).await.expect("resolve"), digest);

    // A secret for another registry gets no access here.
    let elsewhere = json!({"auths": {"ghcr.io": {"username": "puller", "password": password}}});
    let other = client_with(&registry, |c| {
        uncached(c)
            .with_auth_file(&elsewhere.to_string())
            .expect("a valid pull secret")
    });
    let err = other
        .resolve(&image)
        .await
        .expect_err("no credentials for this registry");
    assert!(err.is_auth_refused(), "{err:?}");
}

async fn push_image_result(
    client: &RegistryClient,
    image: &ImageReference,
) -> Result<Digest, RegistryError> {
    client.upload_blob(image, b"layer").await
}

/// A token service as Docker's token spec describes it: checks basic credentials, grants the
/// requested repository actions to the one known user (nothing to anonymous callers), and
/// signs an ES256 JWT whose `x5c` certificate the registry trusts.
struct TokenService {
    signing_key: p256::ecdsa::SigningKey,
    certificate_der: Vec<u8>,
    issuer: String,
    service: String,
    username: String,
    password: String,
    issued: AtomicUsize,
}

impl TokenService {
    fn jwt(&self, subject: &str, access: serde_json::Value) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let header = json!({
            "typ": "JWT", "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.certificate_der)],
        });
        let claims = json!({
            "iss": self.issuer, "sub": subject, "aud": self.service,
            "exp": now + 300, "nbf": now - 30, "iat": now - 30,
            "jti": format!("t{}", self.issued.fetch_add(1, Ordering::SeqCst)),
            "access": access,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature: p256::ecdsa::Signature = self.signing_key.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }
}

async fn issue_token(
    axum::extract::State(service): axum::extract::State<Arc<TokenService>>,
    axum::extract::Query(params): axum::extract::Query<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let subject = match presented {
        Some(pair) if pair == format!("{}:{}", service.username, service.password) => {
            service.username.clone()
        }
        Some(_) => {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                axum::Json(json!({"details": "incorrect username or password"})),
            )
                .into_response()
        }
        None => String::new(),
    };
    let access: Vec<serde_json::Value> = if subject.is_empty() {
        Vec::new()
    } else {
        params
            .iter()
            .filter(|(k, _)| k == "scope")
            .filter_map(|(_, scope)| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect()
    };
    let token = service.jwt(&subject, json!(access));
    axum::Json(json!({"token": token, "access_token": token, "expires_in": 300})).into_response()
}

/// A token service on a free port and the certificate the registry should trust for it.
async fn start_token_service(
    dir: &Path,
    username: &str,
    password: &str,
) -> (SocketAddr, PathBuf, Arc<TokenService>) {
    use p256::pkcs8::DecodePrivateKey as _;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "token.key",
            "-out",
            "token.crt",
            "-days",
            "2",
            "-subj",
            "/CN=trustwatch test token issuer",
        ],
    );
    let key_pem = std::fs::read_to_string(dir.join("token.key")).expect("token key");
    let cert_pem = std::fs::read_to_string(dir.join("token.crt")).expect("token cert");
    let cert_b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let service = Arc::new(TokenService {
        signing_key: p256::ecdsa::SigningKey::from_pkcs8_pem(&key_pem).expect("PKCS#8 key"),
        certificate_der: base64::engine::general_purpose::STANDARD
            .decode(cert_b64)
            .expect("certificate DER"),
        issuer: "trustwatch-test-issuer".into(),
        service: "trustwatch-test-registry".into(),
        username: username.into(),
        password: password.into(),
        issued: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .route("/token", axum::routing::get(issue_token))
        .with_state(Arc::clone(&service));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("token listener");
    let addr = listener.local_addr().expect("token addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, dir.join("token.crt"), service)
}

#[tokio::test]
async fn bearer_token_flow_against_a_token_authenticated_registry() {
    let dir = TempDir::new("token");
    let password = "token-service-password";
    let (token_addr, certificate, tokens) =
        start_token_service(dir.path(), "signer", password).await;
    let registry = TestRegistry::start(RegistryAuth::Token {
        realm: format!("http://{token_addr}/token"),
        service: tokens.service.clone(),
        issuer: tokens.issuer.clone(),
        root_certificate: certificate,
    });
    let image = registry.image("demo/app:v1");
    let token_host = token_addr.to_string();

    let client = client_with(&registry, |c| {
        uncached(c).allowing_http(&token_host).with_credentials(
            &registry.addr,
            Credentials::new("signer", SecretString::from(password)),
        )
    });
    let digest = push_image(&client, &image, "behind token auth").await;
    let payload = cosign_payload(&image, &digest);
    client
        .push_signature(&image, &digest, &payload, b"signature bytes")
        .await
        .expect("push signature");
    let pushed_with = client.stats().token_requests;
    assert!(pushed_with >= 1);

    assert_eq!(client.resolve(&image).await.expect("resolve"), digest);
    let after_first_read = client.stats();
    // Further reads reuse the cached pull token: one request each, no token request.
    assert_eq!(client.resolve(&image).await.expect("resolve"), digest);
    let read = client
        .signatures(&image, &digest)
        .await
        .expect("signatures");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].payload, payload);
    let now = client.stats();
    assert_eq!(now.token_requests, after_first_read.token_requests);
    assert_eq!(
        now.requests - after_first_read.requests,
        3,
        "HEAD, GET .sig, GET blob"
    );

    // Anonymous callers get a token without access: refused, and the message says why.
    let anonymous = client_with(&registry, |c| uncached(c).allowing_http(&token_host));
    let err = anonymous.resolve(&image).await.expect_err("anonymous");
    assert!(err.is_auth_refused(), "{err:?}");
    assert!(err.to_string().contains("none are configured"), "{err}");

    // A wrong password is refused by the token service itself.
    let wrong = client_with(&registry, |c| {
        uncached(c).allowing_http(&token_host).with_credentials(
            &registry.addr,
            Credentials::new("signer", SecretString::from("nope")),
        )
    });
    let err = wrong.resolve(&image).await.expect_err("wrong password");
    assert!(err.is_auth_refused(), "{err:?}");
    assert!(err.to_string().contains("token service"), "{err}");
    assert!(!format!("{err:?}").contains("nope"));

    // A token realm in plain HTTP is refused unless its host is allowed too.
    let strict = client_with(&registry, |c| {
        uncached(c).with_credentials(
            &registry.addr,
            Credentials::new("signer", SecretString::from(password)),
        )
    });
    let err = strict.resolve(&image).await.expect_err("plain HTTP realm");
    assert_eq!(
        err,
        RegistryError::PlainHttpRefused {
            registry: registry.addr.clone(),
            host: token_host.clone()
        }
    );
    assert!(err.to_string().contains("allow_http"), "{err}");
}

#[tokio::test]
async fn uploads_follow_absolute_and_relative_locations() {
    for relative in [false, true] {
        let registry = TestRegistry::start_full(RegistryAuth::Anonymous, None, relative);
        // What the registry sends, seen with a raw request.
        let opened = reqwest::Client::new()
            .post(format!(
                "http://{}/v2/demo/app/blobs/uploads/",
                registry.addr
            ))
            .send()
            .await
            .expect("open an upload");
        let location = opened.headers()["location"].to_str().expect("location");
        assert_eq!(location.starts_with('/'), relative, "{location}");

        let client = plain_client(&registry);
        let image = registry.image("demo/app:v1");
        let digest = push_image(&client, &image, "location test").await;
        assert_eq!(client.resolve(&image).await.expect("resolve"), digest);
        // An existing blob is not uploaded again: one HEAD.
        let before = client.stats().requests;
        client
            .upload_blob(&image, b"location test")
            .await
            .expect("again");
        assert_eq!(client.stats().requests - before, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// A registry that breaks the protocol

/// The one stand-in in this file: an HTTP server that breaks the protocol in ways a correct
/// registry never does (no digest header, a wrong one, outages, hostile signature manifests,
/// redirects to plain HTTP), to exercise the checks that guard against them.
async fn misbehaving_registry(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::http::{header, Method, StatusCode};
    let manifest = OCI_MANIFEST_BODY;
    let reply = |status: StatusCode, headers: &[(&str, &str)], body: &[u8]| {
        let mut builder = axum::response::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .body(axum::body::Body::from(body.to_vec()))
            .expect("a response")
    };
    let signature_manifest = |annotated: bool, size: u64| -> Vec<u8> {
        let annotations = if annotated {
            json!({"dev.cosignproject.cosign/signature": "c2ln"})
        } else {
            json!({})
        };
        let body = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": Digest::of(b"{}").as_str(), "size": 2},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                        "digest": Digest::of(b"payload").as_str(), "size": size, "annotations": annotations}]});
        body.to_string().into_bytes()
    };
    let path = uri.path();
    let ct = (header::CONTENT_TYPE.as_str(), OCI_MANIFEST);
    match (method, path) {
        (Method::HEAD, "/v2/bad/nodigest/manifests/v1")
        | (Method::HEAD, "/v2/bad/lying/manifests/v1") => reply(StatusCode::OK, &[ct], b""),
        (Method::GET, "/v2/bad/nodigest/manifests/v1") => reply(StatusCode::OK, &[ct], manifest),
        (Method::GET, "/v2/bad/lying/manifests/v1") => reply(
            StatusCode::OK,
            &[
                ct,
                (
                    "docker-content-digest",
                    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                ),
            ],
            manifest,
        ),
        (_, "/v2/bad/down/manifests/v1") => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &[],
            br#"{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}"#,
        ),
        (_, "/v2/bad/busy/manifests/v1") => reply(
            StatusCode::TOO_MANY_REQUESTS,
            &[],
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
        ),
        (_, "/v2/bad/redirect/manifests/v1") => reply(
            StatusCode::TEMPORARY_REDIRECT,
            &[("location", "http://localhost:1/v2/bad/manifests/v1")],
            b"",
        ),
        (Method::GET, p) if p.starts_with("/v2/bad/unannotated/manifests/sha256-") => {
            reply(StatusCode::OK, &[ct], &signature_manifest(false, 7))
        }
        (Method::GET, p) if p.starts_with("/v2/bad/huge/manifests/sha256-") => {
            reply(StatusCode::OK, &[ct], &signature_manifest(true, 100 << 20))
        }
        (Method::HEAD, p) if p.starts_with("/v2/bad/nolocation/blobs/sha256:") => {
            reply(StatusCode::NOT_FOUND, &[], b"")
        }
        (Method::POST, "/v2/bad/nolocation/blobs/uploads/") => {
            reply(StatusCode::ACCEPTED, &[], b"")
        }
        (_, p) if p.contains("/blobs/") => {
            reply(StatusCode::IM_A_TEAPOT, &[], b"no blob is ever read here")
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            &[],
            br#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#,
        ),
    }
}

const OCI_MANIFEST_BODY: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

#[tokio::test]
async fn refuses_what_a_misbehaving_registry_sends() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let addr = listener.local_addr().expect("addr").to_string();
    let app = axum::Router::new().fallback(misbehaving_registry);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = RegistryClient::new(uncached(RegistryConfig::default().allowing_http(&addr)))
        .expect("client");
    let image = |name: &str| ImageReference::parse(&format!("{addr}/bad/{name}")).expect("ref");

    // No Docker-Content-Digest on HEAD: the client GETs the manifest and hashes it itself.
    let before = client.stats().requests;
    assert_eq!(
        client
            .resolve(&image("nodigest:v1"))
            .await
            .expect("resolve"),
        Digest::of(OCI_MANIFEST_BODY)
    );
    assert_eq!(client.stats().requests - before, 2, "HEAD, then GET");

    // A digest header that does not match the bytes is refused.
    let err = client
        .resolve(&image("lying:v1"))
        .await
        .expect_err("lying digest");
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("Docker-Content-Digest"), "{err}");

    // Outages and rate limits count as unreachable, with the registry's words.
    let err = client.resolve(&image("down:v1")).await.expect_err("503");
    assert!(
        matches!(err, RegistryError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_unreachable());
    let err = client
        .get_manifest(&image("down:v1"), "v1")
        .await
        .expect_err("503");
    assert!(
        err.to_string()
            .contains("UNAVAILABLE: down for maintenance"),
        "{err}"
    );
    let err = client.resolve(&image("busy:v1")).await.expect_err("429");
    assert!(
        matches!(err, RegistryError::Status { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.is_unreachable());

    // A redirect to plain HTTP elsewhere is not followed.
    let err = client
        .resolve(&image("redirect:v1"))
        .await
        .expect_err("redirect");
    assert_eq!(
        err,
        RegistryError::PlainHttpRefused {
            registry: addr.clone(),
            host: "localhost:1".into()
        }
    );

    // Signature manifests: a layer without its signature, or claiming a huge payload, fails the
    // read (the huge one before any blob is fetched: blobs here answer 418).
    let digest = Digest::of(b"image");
    let err = client
        .signatures(&image("unannotated:v1"), &digest)
        .await
        .expect_err("no annotation");
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("dev.cosignproject.cosign/signature"),
        "{err}"
    );
    let err = client
        .signatures(&image("huge:v1"), &digest)
        .await
        .expect_err("huge payload");
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("more than"), "{err}");

    // An upload opened without a Location cannot go on.
    let err = client
        .upload_blob(&image("nolocation:v1"), b"x")
        .await
        .expect_err("no location");
    assert!(err.to_string().contains("Location"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Transport: TLS, plain HTTP, unreachable registries

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let allowed = plain_client(&registry);
    let image = registry.image("demo/app:v1");
    let digest = push_image(&allowed, &image, "plain").await;

    // Without allow_http the client speaks TLS, and says what to do when that fails.
    let strict = RegistryClient::new(RegistryConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        ..RegistryConfig::default()
    })
    .expect("client");
    let err = strict
        .resolve(&image)
        .await
        .expect_err("TLS to a plain registry");
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("allow_http"), "{err}");
    assert!(err.is_unreachable());
    let err = strict.signatures(&image, &digest).await.expect_err("TLS");
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");

    // Allowing another port of the same host does not allow this one.
    let other_port = RegistryClient::new(RegistryConfig::default().allowing_http("127.0.0.1:1"))
        .expect("client");
    let err = other_port.resolve(&image).await.expect_err("not allowed");
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn tls_with_a_private_certificate_authority() {
    let dir = TempDir::new("tls");
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=trustwatch test CA",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext file");
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    let registry = TestRegistry::start_with(
        RegistryAuth::Anonymous,
        Some(ServerTls {
            certificate: d.join("server.crt"),
            key: d.join("server.key"),
        }),
    );
    let image = registry.image("demo/app:v1");

    // The CA is not a public one: refused, with the reason.
    let untrusting = RegistryClient::new(RegistryConfig::default()).expect("client");
    let err = untrusting.resolve(&image).await.expect_err("unknown CA");
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    let ca = std::fs::read_to_string(d.join("ca.crt")).expect("ca");
    let client = RegistryClient::new(RegistryConfig {
        ca_certificates_pem: vec![ca],
        ..RegistryConfig::default()
    })
    .expect("client");
    let digest = push_image(&client, &image, "over TLS").await;
    assert_eq!(client.resolve(&image).await.expect("resolve"), digest);
    let payload = cosign_payload(&image, &digest);
    client
        .push_signature(&image, &digest, &payload, b"sig")
        .await
        .expect("push signature");
    assert_eq!(
        client.signatures(&image, &digest).await.expect("read")[0].payload,
        payload
    );

    let bad = RegistryClient::new(RegistryConfig {
        ca_certificates_pem: vec!["not a certificate".into()],
        ..RegistryConfig::default()
    });
    assert!(matches!(bad, Err(RegistryError::Invalid(_))));
}

fn fast_failing_client(host: &str) -> RegistryClient {
    RegistryClient::new(
        RegistryConfig {
            connect_timeout: Duration::from_millis(500),
            timeout: Duration::from_millis(800),
            ..RegistryConfig::default()
        }
        .allowing_http(host),
    )
    .expect("client")
}

#[tokio::test]
async fn an_unreachable_registry_fails_within_the_timeout() {
    // Nobody listens: refused at once.
    let closed = format!("127.0.0.1:{}", free_port());
    let client = fast_failing_client(&closed);
    let image = ImageReference::parse(&format!("{closed}/demo/app:v1")).expect("ref");
    let started = Instant::now();
    let err = client.resolve(&image).await.expect_err("closed port");
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err:?}");
    assert!(err.is_unreachable());
    assert!(
        err.to_string()
            .starts_with(&format!("registry {closed} is unreachable")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // Someone accepts connections and never answers: the total timeout ends it.
    let silent = TcpListener::bind("127.0.0.1:0").expect("listener");
    let silent_addr = silent.local_addr().expect("addr").to_string();
    let client = fast_failing_client(&silent_addr);
    let image = ImageReference::parse(&format!("{silent_addr}/demo/app:v1")).expect("ref");
    let started = Instant::now();
    let err = client.resolve(&image).await.expect_err("silent server");
    let took = started.elapsed();
    assert!(
        matches!(err, RegistryError::Timeout { phase: "total", .. }),
        "{err:?}"
    );
    assert!(err.is_unreachable());
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let digest = Digest::of(b"x");
    let err = client
        .signatures(&image, &digest)
        .await
        .expect_err("silent server");
    assert!(err.is_unreachable(), "{err:?}");

    // A listener whose accept queue is full drops new connection attempts: the connect
    // timeout ends it.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let full = socket.listen(1).expect("listen");
    let full_addr = full.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(&full_addr, Duration::from_millis(200)) {
            fillers.push(s);
        }
    }
    let client = fast_failing_client(&full_addr.to_string());
    let image = ImageReference::parse(&format!("{full_addr}/demo/app:v1")).expect("ref");
    let started = Instant::now();
    let err = client.resolve(&image).await.expect_err("full accept queue");
    let took = started.elapsed();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(fillers);
}

// ---------------------------------------------------------------------------------------------
// Cache

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_image_admitted_a_thousand_times_is_fetched_once() {
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let writer = client_with(&registry, uncached);
    let image = registry.image("demo/app:v1");
    let d1 = push_image(&writer, &image, "popular").await;
    let payload = cosign_payload(&image, &d1);
    writer
        .push_signature(&image, &d1, &payload, b"sig")
        .await
        .expect("sign");

    let client = client_with(&registry, |c| RegistryConfig {
        cache: CacheConfig {
            ttl: Duration::from_secs(2),
            failure_ttl: Duration::from_millis(300),
            max_entries: 100,
        },
        ..c
    });

    // A thousand concurrent admissions: one HEAD for the tag, one .sig manifest and one blob.
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let client = client.clone();
        let image = image.clone();
        tasks.push(tokio::spawn(async move {
            let digest = client.resolve(&image).await?;
            client.signatures(&image, &digest).await
        }));
    }
    for task in tasks {
        let signatures = task.await.expect("task").expect("read");
        assert_eq!(signatures.len(), 1);
    }
    let stats = client.stats();
    assert_eq!(stats.requests, 3, "{stats:?}");
    assert_eq!(stats.cache_misses, 2, "{stats:?}");
    assert_eq!(stats.cache_hits, 1998, "{stats:?}");

    // Failures are kept too, briefly.
    let missing = registry.image("demo/app:nope");
    assert!(client
        .resolve(&missing)
        .await
        .expect_err("missing")
        .is_not_found());
    assert!(client
        .resolve(&missing)
        .await
        .expect_err("missing")
        .is_not_found());
    assert_eq!(client.stats().requests, 4);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(client
        .resolve(&missing)
        .await
        .expect_err("missing")
        .is_not_found());
    assert_eq!(client.stats().requests, 5);

    // The tag moves; the cached answer holds until the TTL runs out, then the new one shows.
    let moving = registry.image("demo/app:moving");
    let m1 = push_image(&writer, &moving, "moving, first").await;
    assert_eq!(client.resolve(&moving).await.expect("first"), m1);
    let m2 = push_image(&writer, &moving, "moving, rebuilt").await;
    assert_ne!(m1, m2);
    assert_eq!(client.resolve(&moving).await.expect("cached"), m1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(client.resolve(&moving).await.expect("fresh"), m2);

    // Keys are per repository: the same tag elsewhere is its own entry.
    let elsewhere = registry.image("other/app:v1");
    assert!(client
        .resolve(&elsewhere)
        .await
        .expect_err("missing")
        .is_not_found());
}

// ---------------------------------------------------------------------------------------------
// Interoperability with cosign itself

/// cosign verifies the signatures this client pushes, and this client reads the ones cosign
/// pushes, in the same `.sig` manifest. cosign comes from `scripts/lib/peers.sh`
/// (`ensure_peer_tools`, run by scripts/test), found in `$TRUSTWATCH_PEERS_DIR/bin` (default
/// `~/.cache/trustwatch/peers/bin`); the test fails, never skips, when it is missing.
#[tokio::test]
async fn cosign_and_this_client_read_each_others_signatures() {
    use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
    let peers = std::env::var_os("TRUSTWATCH_PEERS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/trustwatch/peers")
        });
    let cosign_bin = peers.join("bin/cosign");
    assert!(
        cosign_bin.exists(),
        "cosign is not installed at {}: run `source scripts/lib/common.sh; source scripts/lib/peers.sh; ensure_peer_tools` (scripts/test does)",
        cosign_bin.display()
    );
    let registry = TestRegistry::start(RegistryAuth::Anonymous);
    let client = client_with(&registry, uncached);
    let image = registry.image("demo/app:v1");
    let digest = push_image(&client, &image, "interop").await;
    let home = TempDir::new("cosign-home");
    let cosign = |args: &[&str]| {
        let out = Command::new(&cosign_bin)
            .args(args)
            .current_dir(home.path())
            .env("HOME", home.path())
            .env("COSIGN_PASSWORD", "interop")
            .output()
            .expect("run cosign");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    println!(
        "{}",
        cosign(&["version"])
            .1
            .lines()
            .find(|l| l.starts_with("GitVersion"))
            .unwrap_or("?")
    );
    let pinned = format!("{}/demo/app@{digest}", registry.addr);

    // Ours, verified by cosign.
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let ours_pub = home.path().join("ours.pub");
    std::fs::write(
        &ours_pub,
        key.verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .expect("PEM"),
    )
    .expect("write ours.pub");
    let payload = cosign_payload(&image, &digest);
    client
        .push_signature(&image, &digest, &payload, &sign(&key, &payload))
        .await
        .expect("push");
    let verify = |key: &Path, reference: &str| {
        cosign(&[
            "verify",
            "--key",
            &key.display().to_string(),
            "--insecure-ignore-tlog=true",
            "--allow-http-registry",
            reference,
        ])
    };
    let (ok, text) = verify(&ours_pub, &pinned);
    assert!(ok, "cosign refused our signature:\n{text}");
    let (ok, text) = verify(&ours_pub, &image.to_string());
    assert!(ok, "cosign refused our signature by tag:\n{text}");

    // cosign's, appended to ours, read by us.
    let (ok, text) = cosign(&["generate-key-pair"]);
    assert!(ok, "{text}");
    let (ok, text) = cosign(&[
        "sign",
        "-y",
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        "--allow-http-registry",
        &pinned,
    ]);
    assert!(ok, "cosign sign failed:\n{text}");
    let read = client.signatures(&image, &digest).await.expect("read");
    assert_eq!(read.len(), 2, "cosign appends to the manifest we wrote");
    assert_eq!(read[0].payload, payload);
    let cosign_pub = std::fs::read_to_string(home.path().join("cosign.pub")).expect("cosign.pub");
    let cosign_key = p256::ecdsa::VerifyingKey::from_public_key_pem(&cosign_pub).expect("key");
    let signature = p256::ecdsa::Signature::from_der(&read[1].signature).expect("DER");
    cosign_key
        .verify(&read[1].payload, &signature)
        .expect("cosign's signature verifies over the payload we read");
    let claimed: serde_json::Value = serde_json::from_slice(&read[1].payload).expect("payload");
    assert_eq!(
        claimed["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );

    // Ours again after cosign's: both keep verifying.
    let second = skopeo_payload(&image, &digest);
    let pushed = client
        .push_signature(&image, &digest, &second, &sign(&key, &second))
        .await
        .expect("push after cosign");
    assert_eq!(pushed.signatures, 3);
    let (ok, text) = verify(&home.path().join("cosign.pub"), &pinned);
    assert!(ok, "cosign no longer verifies its own signature:\n{text}");
    let (ok, text) = verify(&ours_pub, &pinned);
    assert!(ok, "{text}");
}
