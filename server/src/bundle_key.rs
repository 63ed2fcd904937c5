//! The trust-bundle signing key on disk, and the publisher built from it.
//!
//! The key is an Ed25519 private key in PKCS#8 PEM, the form `openssl genpkey -algorithm
//! ed25519` writes, so an operator can provide one (from a secret store, say) and inspect it
//! with `openssl pkey -in FILE -pubout`. When the file is absent at the server's first start, a
//! key is generated and written there with mode 0600. The key itself never reaches a log.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use base64::Engine as _;
use domain::BundleSigningKey;
use rand::RngCore;
use service::trust_bundle::{self, Publisher};
use sqlx::PgPool;

use crate::Settings;

/// The DER of an Ed25519 PKCS#8 v1 `PrivateKeyInfo` up to the 32-byte seed (RFC 8410): version 0,
/// algorithm id-Ed25519 (1.3.101.112), and the seed wrapped in an OCTET STRING.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

const PEM_LABEL: &str = "PRIVATE KEY";

/// The seed from the PEM text of the key file.
fn seed_from_pem(text: &str) -> anyhow::Result<[u8; 32]> {
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let start = text.find(&begin).with_context(|| {
        format!("no \"{begin}\" block: the bundle key must be an Ed25519 private key in PKCS#8 PEM (openssl genpkey -algorithm ed25519)")
    })? + begin.len();
    let stop = text[start..]
        .find(&end)
        .with_context(|| format!("the PEM block has no \"{end}\" line"))?
        + start;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .context("the PEM block is not valid base64")?;
    match der.strip_prefix(&PKCS8_ED25519_PREFIX[..]) {
        Some(seed) if seed.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(seed);
            Ok(out)
        }
        _ => bail!(
            "the private key is not an Ed25519 key in PKCS#8 v1 form (openssl genpkey -algorithm ed25519 writes one)"
        ),
    }
}

fn pem_from_seed(seed: &[u8; 32]) -> String {
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(seed);
    format!(
        "-----BEGIN {PEM_LABEL}-----\n{}\n-----END {PEM_LABEL}-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

/// Reads the key at `path`, or `None` when there is no file.
pub fn read(path: &Path) -> anyhow::Result<Option<BundleSigningKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("reading the bundle key {}", path.display()))
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    file = %path.display(),
                    "the bundle key file is readable by others than its owner; chmod 600 it"
                );
            }
        }
    }
    let seed = seed_from_pem(&text).with_context(|| format!("reading {}", path.display()))?;
    let key = BundleSigningKey::from_seed(&seed)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(key))
}

/// Generates a key and writes it to `path` (mode 0600, creating its folder), refusing to
/// overwrite a file that appeared meanwhile (another replica or command won the race: its key is
/// then read).
pub fn create(path: &Path) -> anyhow::Result<BundleSigningKey> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The folder keeps its usual permissions (scripts/run shares `.data/` with PostgreSQL);
        // the file itself is private.
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return read(path)?.with_context(|| format!("{} vanished", path.display()))
        }
        Err(e) => {
            return Err(e).with_context(|| format!("writing the bundle key {}", path.display()))
        }
    };
    file.write_all(pem_from_seed(&seed).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the bundle key {}", path.display()))?;
    let key = BundleSigningKey::from_seed(&seed).map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        file = %path.display(),
        fingerprint = %key.public_key().fingerprint(),
        "generated a new trust-bundle signing key (Ed25519); keep the file safe and give every replica the same one"
    );
    Ok(key)
}

fn publisher_from(settings: &Settings, key: BundleSigningKey) -> Publisher {
    Publisher::new(
        key,
        settings.bundle_validity(),
        settings.default_policy_action,
    )
}

/// For the server: reads the key, or generates it when the file is absent, then makes sure a
/// current bundle signed with it is published (version 1 on the first start; a new version when
/// the key or the default action changed, or the newest one is halfway to its expiry).
pub async fn for_server(settings: &Settings, pool: &PgPool) -> anyhow::Result<Publisher> {
    let path = &settings.bundle_key_file;
    let key = match read(path)? {
        Some(key) => key,
        None => {
            if let Some(head) = trust_bundle::head(pool).await? {
                tracing::warn!(
                    file = %path.display(),
                    previous = %head.key_fingerprint,
                    "the bundle key file is missing although bundles were published before; a new key is generated and verifiers must be given its public key (GET /api/v1/trust-bundle/key)"
                );
            }
            create(path)?
        }
    };
    let publisher = publisher_from(settings, key);
    if let Some(published) =
        trust_bundle::ensure_current(pool, &publisher, chrono::Utc::now()).await?
    {
        tracing::info!(
            version = published.version,
            key = %publisher.public_key().fingerprint(),
            "published trust bundle"
        );
    }
    Ok(publisher)
}

/// For commands that change trust data directly in the database: the server's key, never a new
/// one unless nothing was ever published (then this is the first start). A key other than the
/// one that signed the current bundle is refused: verifiers would reject what it signs.
pub async fn for_command(settings: &Settings, pool: &PgPool) -> anyhow::Result<Publisher> {
    let path = &settings.bundle_key_file;
    let head = trust_bundle::head(pool).await?;
    let key = match (read(path)?, &head) {
        (Some(key), _) => key,
        (None, None) => create(path)?,
        (None, Some(head)) => bail!(
            "the bundle key file {} does not exist, but the server signs with key {}: run this where the server's key file is (TRUSTWATCH_BUNDLE_KEY_FILE or bundle_key_file), or use --server",
            path.display(),
            head.key_fingerprint
        ),
    };
    let fingerprint = key.public_key().fingerprint().as_str().to_owned();
    if let Some(head) = &head {
        if head.key_fingerprint != fingerprint {
            bail!(
                "the bundle key in {} ({fingerprint}) is not the one that signed the current trust bundle ({}); verifiers would refuse bundles it signs. Use the server's key file, or --server",
                path.display(),
                head.key_fingerprint
            );
        }
    }
    let publisher = publisher_from(settings, key);
    if head.is_none() {
        trust_bundle::ensure_current(pool, &publisher, chrono::Utc::now()).await?;
    }
    Ok(publisher)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir()
            .join(format!("tw-bundle-key-{}", uuid::Uuid::now_v7()))
            .join(name)
    }

    #[test]
    fn generated_keys_are_private_and_read_back() {
        let path = temp("nested/bundle.key");
        let key = create(&path).unwrap();
        let again = read(&path).unwrap().unwrap();
        assert_eq!(key.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second create finds the file and keeps it.
        assert_eq!(create(&path).unwrap().public_key(), key.public_key());
        assert!(read(&temp("absent.key")).unwrap().is_none());
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn reads_openssl_keys() {
        // openssl genpkey -algorithm ed25519 (the RFC 8410 example key).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let seed = seed_from_pem(pem).unwrap();
        assert_eq!(
            hex::encode(seed),
            "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842"
        );
        assert_eq!(pem_from_seed(&seed), pem);
        // RFC 8410's public key for it.
        let key = BundleSigningKey::from_seed(&seed).unwrap();
        assert!(key
            .public_key()
            .to_pem()
            .contains("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="));
    }

    #[test]
    fn refuses_other_keys() {
        let p256 = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
        assert!(seed_from_pem(p256).is_err());
        assert!(seed_from_pem("not a key").is_err());
        let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert!(seed_from_pem(public).is_err());
    }
}
