//! What the differential test runs on: the peer tools, a real registry, images pushed by hand,
//! signed trust bundles made by `trustwatch keys|policy|bundle`, the `trustwatch` binary, and
//! the table of verdicts.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, TimeDelta, Utc};
use domain::{Digest, ImageReference};
use serde_json::json;
use service::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};
use service::registry::{CacheConfig, RegistryClient, RegistryConfig};

/// The passphrase of every key file the test makes.
pub const PASSPHRASE: &str = "interop-pass";

// ---------------------------------------------------------------------------------------------
// Files

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

/// A finished process: its status and output.
pub struct Ran {
    pub what: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn of(what: String, command: &mut Command) -> Self {
        let out = command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        Self {
            what,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "{} failed:\n{}\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The first line of stderr that says why, for the table.
    fn why(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|l| l.contains("rror") || l.contains("msg="))
            .unwrap_or("")
            .chars()
            .take(140)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The peers

pub struct Peers {
    dir: PathBuf,
    cosign: PathBuf,
    skopeo: PathBuf,
}

impl Peers {
    /// The tools `ensure_peer_tools` (scripts/lib/peers.sh) installs; a clear failure without.
    pub fn find() -> Self {
        let dir = std::env::var_os("TRUSTWATCH_PEERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/trustwatch/peers")
            });
        let peers = Self {
            cosign: dir.join("bin/cosign"),
            skopeo: dir.join("bin/skopeo"),
            dir,
        };
        for tool in [&peers.cosign, &peers.skopeo] {
            assert!(
                tool.is_file(),
                "{} is missing: this differential test needs the real cosign and skopeo. Install them \
                 with `source scripts/lib/common.sh; source scripts/lib/peers.sh; ensure_peer_tools` \
                 (scripts/test does this), or point TRUSTWATCH_PEERS_DIR at a directory holding \
                 bin/cosign and bin/skopeo",
                tool.display()
            );
        }
        peers
    }

    /// The Debian package versions (Debian's cosign reports its own version as `devel`), and
    /// skopeo's own word.
    pub fn versions(&self) -> String {
        let package = |name: &str| {
            std::fs::read_dir(self.dir.join("debs"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .find_map(|f| {
                    f.strip_prefix(&format!("{name}_"))
                        .and_then(|rest| rest.split('_').next().map(str::to_owned))
                })
                .unwrap_or_else(|| "(package version unknown)".to_owned())
        };
        let skopeo = Ran::of(
            "skopeo --version".into(),
            Command::new(&self.skopeo).arg("--version"),
        );
        format!(
            "cosign {} (Debian trixie), skopeo {} (Debian trixie; {})",
            package("cosign"),
            package("skopeo"),
            skopeo.stdout.trim()
        )
    }

    /// cosign with its home (where it keeps its cache) inside the test's directory.
    fn cosign_in(&self, dir: &Path, args: &[&str]) -> Ran {
        Ran::of(
            format!("cosign {}", args.join(" ")),
            Command::new(&self.cosign)
                .args(args)
                .current_dir(dir)
                .env("HOME", dir)
                .env("COSIGN_PASSWORD", PASSPHRASE),
        )
    }

    pub fn cosign_generate_key_pair(&self, dir: &Path) {
        self.cosign_in(dir, &["generate-key-pair"]).success();
    }

    pub fn cosign_sign(&self, dir: &Path, key: &Path, reference: &str) {
        self.cosign_in(
            dir,
            &[
                "sign",
                "-y",
                "--key",
                &key.display().to_string(),
                "--tlog-upload=false",
                "--allow-http-registry",
                reference,
            ],
        )
        .success();
    }

    pub fn cosign_verify(&self, dir: &Path, public: &Path, reference: &str) -> Verdict {
        Verdict::from_exit(self.cosign_in(
            dir,
            &[
                "verify",
                "--key",
                &public.display().to_string(),
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                reference,
            ],
        ))
    }

    /// skopeo reads and writes sigstore attachments only for registries configured so.
    fn skopeo_config(&self, dir: &Path, registry: &str) -> PathBuf {
        let d = dir.join("registries.d");
        std::fs::create_dir_all(&d).expect("registries.d");
        std::fs::write(
            d.join("default.yaml"),
            format!("docker:\n  {registry}:\n    use-sigstore-attachments: true\n"),
        )
        .expect("registries.d/default.yaml");
        d
    }

    /// Signs by copying the image onto itself with a signature added, as skopeo does.
    pub fn skopeo_sign(
        &self,
        dir: &Path,
        registry: &str,
        key: &Path,
        reference: &str,
        identity: Option<&str>,
    ) {
        let d = self.skopeo_config(dir, registry);
        let accept = dir.join("accept.json");
        std::fs::write(
            &accept,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("policy");
        let pass = dir.join("pass");
        std::fs::write(&pass, PASSPHRASE).expect("passphrase file");
        let source = format!("docker://{reference}");
        let mut args: Vec<String> = vec![
            "--registries.d".into(),
            d.display().to_string(),
            "--policy".into(),
            accept.display().to_string(),
            "copy".into(),
            "-q".into(),
            "--src-tls-verify=false".into(),
            "--dest-tls-verify=false".into(),
            "--sign-by-sigstore-private-key".into(),
            key.display().to_string(),
            "--sign-passphrase-file".into(),
            pass.display().to_string(),
        ];
        if let Some(identity) = identity {
            args.push("--sign-identity".into());
            args.push(identity.into());
        }
        args.push(source.clone());
        args.push(source);
        Ran::of(
            format!("skopeo {}", args.join(" ")),
            Command::new(&self.skopeo).args(&args),
        )
        .success();
    }

    /// skopeo's verdict: a copy out of the registry under a policy that requires a sigstore
    /// signature by `public` with the `signedIdentity` type `rule`.
    pub fn skopeo_verify(
        &self,
        dir: &Path,
        registry: &str,
        rule: &str,
        public: &Path,
        reference: &str,
    ) -> Verdict {
        let d = self.skopeo_config(dir, registry);
        let policy = dir.join(format!("policy-{rule}.json"));
        std::fs::write(
            &policy,
            json!({
                "default": [{"type": "reject"}],
                "transports": {
                    "docker": {registry: [{
                        "type": "sigstoreSigned",
                        "keyPath": public.display().to_string(),
                        "signedIdentity": {"type": rule},
                    }]},
                    "dir": {"": [{"type": "insecureAcceptAnything"}]},
                },
            })
            .to_string(),
        )
        .expect("skopeo policy");
        let out = TempDir::new("skopeo-out");
        let target = format!("dir:{}", out.path().join("image").display());
        Verdict::from_exit(Ran::of(
            format!("skopeo copy docker://{reference} (policy {rule})"),
            Command::new(&self.skopeo).args([
                "--registries.d",
                &d.display().to_string(),
                "--policy",
                &policy.display().to_string(),
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{reference}"),
                &target,
            ]),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts

/// Accepted or refused, with the verifier's own words when refused.
pub struct Verdict {
    pub accepted: bool,
    pub why: String,
}

impl Verdict {
    fn from_exit(ran: Ran) -> Self {
        Self {
            accepted: ran.code == Some(0),
            why: if ran.code == Some(0) {
                String::new()
            } else {
                ran.why()
            },
        }
    }
}

/// `trustwatch verify --bundle … --output json`: exit 0 allowed, 1 refused; anything else (2,
/// could not decide) is a failure of the test, not a verdict.
pub fn verify_with_trustwatch(
    bundle: &Path,
    bundle_key: &Path,
    registry: &str,
    reference: &str,
) -> Verdict {
    let ran = trustwatch(
        &[
            "verify",
            "--bundle",
            &bundle.display().to_string(),
            "--bundle-key",
            &bundle_key.display().to_string(),
            "--allow-http-registry",
            registry,
            "--output",
            "json",
            reference,
        ],
        &[],
    );
    assert!(
        matches!(ran.code, Some(0) | Some(1)),
        "trustwatch verify {reference} could not decide (exit {:?}):\n{}\n{}",
        ran.code,
        ran.stdout,
        ran.stderr
    );
    let decision: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| {
        panic!(
            "trustwatch verify --output json printed no JSON ({e}):\n{}",
            ran.stdout
        )
    });
    let allowed = decision["allowed"].as_bool();
    assert_eq!(
        allowed,
        Some(ran.code == Some(0)),
        "the exit status and `allowed` disagree:\n{}",
        ran.stdout
    );
    assert!(decision["checks"].is_array(), "no checks:\n{}", ran.stdout);
    Verdict {
        accepted: ran.code == Some(0),
        why: format!(
            "{}: {}",
            decision["reason"].as_str().unwrap_or("?"),
            decision["summary"].as_str().unwrap_or("")
        )
        .chars()
        .take(140)
        .collect(),
    }
}

/// Runs the compiled `trustwatch` binary with only the given extra environment (none of the
/// caller's Trustwatch settings, nor its DATABASE_URL, reach it).
pub fn trustwatch(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustwatch"));
    command
        .args(args)
        .env_remove("TRUSTWATCH_SERVER")
        .env_remove("TRUSTWATCH_TOKEN")
        .env_remove("TRUSTWATCH_KEY_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("TRUSTWATCH_CONFIG")
        .env_remove("TRUSTWATCH_BUNDLE_KEY_FILE")
        .env_remove("TRUSTWATCH_DEFAULT_POLICY_ACTION")
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    Ran::of(format!("trustwatch {}", args.join(" ")), &mut command)
}

/// The table of every verdict, and whether each was the expected one.
#[derive(Default)]
pub struct Table {
    rows: Vec<(String, String, bool, Verdict, String)>,
}

impl Table {
    /// One case: per verifier, the verdict expected, the one given, and — where the verifiers
    /// are expected to differ — why.
    pub fn case(&mut self, case: &str, verdicts: &[(&str, bool, Verdict, &str)]) {
        for (verifier, expected, got, note) in verdicts {
            self.rows.push((
                case.to_owned(),
                (*verifier).to_owned(),
                *expected,
                Verdict {
                    accepted: got.accepted,
                    why: got.why.clone(),
                },
                (*note).to_owned(),
            ));
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (case, verifier, expected, got, note) in &self.rows {
            let word = |a: bool| if a { "accept" } else { "reject" };
            let _ = writeln!(
                out,
                "{} {case:<75} {verifier:<30} expect={:<6} got={:<6} {}{}",
                if *expected == got.accepted {
                    "PASS"
                } else {
                    "FAIL"
                },
                word(*expected),
                word(got.accepted),
                got.why,
                if note.is_empty() {
                    String::new()
                } else {
                    format!("\n     note: {note}")
                }
            );
        }
        out
    }

    pub fn assert_all_as_expected(&self) {
        let failures: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, _, expected, got, _)| *expected != got.accepted)
            .map(|(case, verifier, expected, got, note)| {
                format!(
                    "{case}: {verifier} should {} but did {} ({}){}",
                    if *expected { "accept" } else { "reject" },
                    if got.accepted { "accept" } else { "reject" },
                    got.why,
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(" — {note}")
                    }
                )
            })
            .collect();
        assert!(
            failures.is_empty(),
            "verdicts differ from the expected ones:\n{}",
            failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Trust bundles

/// `pool`'s database (a fresh one from `sqlx::test`) as a URL for `--database-url`: DATABASE_URL
/// — its user, password, host and options — with the database name swapped.
pub fn database_url(pool: &sqlx::PgPool) -> String {
    let name = pool
        .connect_options()
        .get_database()
        .expect("the test pool names its database")
        .to_owned();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL (sqlx::test needs it too)");
    let mut url = reqwest::Url::parse(&base).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Signed bundle files, one per case, and the bundle key's public half.
pub struct Bundles {
    pub key: PathBuf,
    pub exact: PathBuf,
    pub repository: PathBuf,
    pub ignore: PathBuf,
    pub wrong_key: PathBuf,
}

impl Bundles {
    /// The bundles an operator would make, made the way an operator makes them: the compiled
    /// `trustwatch` on `database` (fresh and migrated) — `keys import` for the signer's key
    /// (`ci-release`) and the wrong one (`other-release`), then per case `policy apply` of one
    /// enforce-mode policy `demo` over `registry/demo/**` and `bundle export`; the bundle key file
    /// in `dir` is generated by the first command, and `bundle key` writes its public half.
    /// Images outside `demo/` are refused (the default action).
    pub fn produce(
        database: &str,
        dir: &Path,
        registry: &str,
        signer_pub: &Path,
        wrong_pub: &Path,
    ) -> Self {
        let key_file = dir.join("bundle-signing.key").display().to_string();
        let env = [("TRUSTWATCH_BUNDLE_KEY_FILE", key_file.as_str())];
        let on_database = |args: &[&str]| {
            let mut args = args.to_vec();
            args.extend(["--database-url", database]);
            let ran = trustwatch(&args, &env);
            ran.success();
            ran
        };
        // The signatures predate the import: the keys count from yesterday.
        let since = (Utc::now() - TimeDelta::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
        for (name, file, owner) in [
            ("ci-release", signer_pub, "release"),
            ("other-release", wrong_pub, "elsewhere"),
        ] {
            let ran = on_database(&[
                "keys",
                "import",
                "--name",
                name,
                "--file",
                &file.display().to_string(),
                "--owner",
                owner,
                "--valid-from",
                &since,
            ]);
            assert!(
                ran.stdout.contains(&format!("imported key \"{name}\""))
                    && ran.stdout.contains("published trust bundle version"),
                "{}",
                ran.stdout
            );
        }
        let mut versions = Vec::new();
        let mut write = |name: &str, authority: &str, identity: &str| {
            let policy = dir.join(format!("policy-{name}.yaml"));
            std::fs::write(
                &policy,
                format!(
                    "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: demo}}\nspec:\n  images: ['{registry}/demo/**']\n  mode: enforce\n  identity: {identity}\n  authorities: {{threshold: 1, keys: [{authority}]}}\n"
                ),
            )
            .expect("policy file");
            let applied = on_database(&["policy", "apply", "-f", &policy.display().to_string()]);
            assert!(
                applied.stdout.contains("published trust bundle version"),
                "{}",
                applied.stdout
            );
            let path = dir.join(format!("bundle-{name}.json"));
            on_database(&["bundle", "export", "--output", &path.display().to_string()]);
            // What was exported is what was just applied, in a version of its own.
            let signed: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("bundle file"))
                    .expect("bundle json");
            let bundle = &signed["bundle"];
            let policies = bundle["policies"].as_array().expect("policies");
            assert_eq!(policies.len(), 1, "{bundle}");
            assert_eq!(policies[0]["spec"]["identity"], identity, "{bundle}");
            assert_eq!(
                policies[0]["spec"]["authorities"]["keys"],
                json!([authority]),
                "{bundle}"
            );
            assert_eq!(bundle["default_action"], "deny", "{bundle}");
            versions.push(bundle["version"].as_u64().expect("a version"));
            path
        };
        let exact = write("exact", "ci-release", "exact");
        let repository = write("repository", "ci-release", "repository");
        let ignore = write("ignore", "ci-release", "ignore");
        let wrong_key = write("wrong-key", "other-release", "repository");
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "every apply publishes a new version: {versions:?}"
        );
        let key = dir.join("bundle-key.pub");
        trustwatch(
            &["bundle", "key", "--output", &key.display().to_string()],
            &env,
        )
        .success();
        Self {
            key,
            exact,
            repository,
            ignore,
            wrong_key,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A real registry

/// `docker-registry serve` on 127.0.0.1 and a free port, stopped (by its pid) on drop.
pub struct TestRegistry {
    child: Child,
    _dir: TempDir,
    pub addr: String,
}

impl TestRegistry {
    pub fn start() -> Self {
        if let Err(e) = Command::new("docker-registry").arg("--version").output() {
            panic!(
                "cannot run `docker-registry` ({e}); this test needs a real registry: install \
                 Debian's package (`ensure_registry_tools` in scripts/lib/registry.sh)"
            );
        }
        let dir = TempDir::new("interop-registry");
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr = format!("127.0.0.1:{port}");
            let config = format!(
                "version: 0.1\nlog: {{level: warn}}\nstorage:\n  cache: {{blobdescriptor: inmemory}}\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp:\n  addr: \"{addr}\"\n",
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

    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(
            RegistryConfig {
                cache: CacheConfig {
                    max_entries: 0,
                    ..CacheConfig::default()
                },
                ..RegistryConfig::default()
            }
            .allowing_http(&self.addr),
        )
        .expect("a registry client")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// Pushes a one-file image (an uncompressed tar layer, its config and an OCI manifest) under
/// `reference`'s tag and returns the manifest's digest.
pub async fn push_image(client: &RegistryClient, reference: &str, content: &str) -> Digest {
    let image = ImageReference::parse(reference).expect("an image reference");
    let layer = tar_with_one_file("hello.txt", content.as_bytes());
    let layer_digest = client
        .upload_blob(&image, &layer)
        .await
        .expect("layer upload");
    let config = serde_json::to_vec(&json!({
        "created": "1970-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/cat", "/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.as_str()]},
    }))
    .expect("config json");
    let config_digest = client
        .upload_blob(&image, &config)
        .await
        .expect("config upload");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest.as_str(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.as_str(), "size": layer.len()}],
    }))
    .expect("manifest json");
    let tag = image.tag().expect("a tagged reference");
    client
        .put_manifest(&image, tag, OCI_MANIFEST, &manifest)
        .await
        .expect("manifest upload");
    Digest::of(&manifest)
}

/// A POSIX tar archive holding one regular file, so tools that unpack layers find a real one.
fn tar_with_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let mut field = |offset: usize, text: &str| {
        header[offset..offset + text.len()].copy_from_slice(text.as_bytes());
    };
    field(100, "0000644\0");
    field(108, "0000000\0");
    field(116, "0000000\0");
    field(124, &format!("{:011o}\0", content.len()));
    field(136, "00000000000\0");
    field(156, "0");
    field(257, "ustar\0");
    field(263, "00");
    // The checksum is computed with its own field as spaces.
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.resize(tar.len() + 1024, 0);
    tar
}
