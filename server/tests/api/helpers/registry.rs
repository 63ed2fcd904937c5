//! A real OCI registry for the webhook's tests: Debian's `docker-registry`, anonymous and plain
//! HTTP, on a free port, stopped on drop. The same approach as the registry client's own tests
//! (service/tests/registry.rs), cut down to what the webhook needs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use domain::{Digest, ImageReference};
use serde_json::json;
use service::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};
use service::registry::{RegistryClient, RegistryConfig};

/// A directory under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
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

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `docker-registry serve` on 127.0.0.1 and a free port.
pub struct TestRegistry {
    child: Child,
    _dir: TempDir,
    pub addr: String,
}

impl TestRegistry {
    pub fn start() -> Self {
        if let Err(e) = Command::new("docker-registry").arg("--version").output() {
            panic!(
                "these tests need a real registry: install Debian's docker-registry \
                 (`ensure_registry_tools` in scripts/lib/registry.sh does that): {e}"
            );
        }
        let dir = TempDir::new("registry");
        let mut last_log = String::new();
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let config = format!(
                "version: 0.1\nlog: {{level: warn}}\n\
                 storage:\n  cache: {{blobdescriptor: inmemory}}\n  filesystem: {{rootdirectory: {}}}\n\
                 http:\n  addr: \"{addr}\"\n",
                dir.path().join("data").display()
            );
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
                return Self {
                    child,
                    _dir: dir,
                    addr,
                };
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

    pub fn image(&self, name: &str) -> ImageReference {
        ImageReference::parse(&format!("{}/{name}", self.addr)).expect("an image reference")
    }

    /// A client that may speak plain HTTP to this registry and keeps nothing.
    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(
            RegistryConfig {
                cache: service::registry::CacheConfig {
                    max_entries: 0,
                    ..Default::default()
                },
                ..RegistryConfig::default()
            }
            .allowing_http(&self.addr),
        )
        .expect("a registry client")
    }

    /// Stops the registry: from now on its port refuses connections.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// True once something answers HTTP on `addr`.
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

/// Pushes a one-layer image under `image`'s tag and returns its manifest's digest.
pub async fn push_image(client: &RegistryClient, image: &ImageReference, content: &str) -> Digest {
    let layer = content.as_bytes();
    let layer_digest = client
        .upload_blob(image, layer)
        .await
        .expect("layer upload");
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
    client
        .put_manifest(image, tag, OCI_MANIFEST, &manifest)
        .await
        .expect("manifest upload")
}
