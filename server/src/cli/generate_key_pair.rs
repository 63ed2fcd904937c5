//! `trustwatch generate-key-pair`: a new ECDSA P-256 key pair in cosign's files — `PREFIX.key`
//! (encrypted with the passphrase from TRUSTWATCH_KEY_PASSWORD or COSIGN_PASSWORD) and
//! `PREFIX.pub` — readable by cosign and skopeo as well. The random bytes are drawn here; the
//! format is `domain::cosign_key`'s.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use domain::cosign_key::{CosignPrivateKey, KeyFileRandomness, ScryptCost};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Args)]
pub struct GenerateKeyPairArgs {
    /// Write PREFIX.key and PREFIX.pub; existing files are never overwritten.
    #[arg(long, default_value = "cosign")]
    output_prefix: PathBuf,
}

pub async fn run(args: GenerateKeyPairArgs) -> anyhow::Result<()> {
    let passphrase = passphrase()?;
    let key_path = args.output_prefix.with_extension("key");
    let pub_path = args.output_prefix.with_extension("pub");
    for path in [&key_path, &pub_path] {
        if path.exists() {
            bail!("{} exists already; it is not overwritten", path.display());
        }
    }
    let (pem, public) = tokio::task::spawn_blocking(move || {
        let mut rng = rand::rngs::OsRng;
        // About one draw in 2^32 is not a valid scalar; draw again.
        let key = loop {
            let mut scalar = [0u8; 32];
            rng.fill_bytes(&mut scalar);
            if let Ok(key) = CosignPrivateKey::from_random_scalar(&scalar) {
                break key;
            }
        };
        let mut randomness = KeyFileRandomness {
            salt: [0; 32],
            nonce: [0; 24],
        };
        rng.fill_bytes(&mut randomness.salt);
        rng.fill_bytes(&mut randomness.nonce);
        let pem = key.to_encrypted_pem(
            passphrase.expose_secret().as_bytes(),
            &randomness,
            ScryptCost::COSIGN,
        )?;
        anyhow::Ok((pem, key.public_key()))
    })
    .await??;
    write_new(&key_path, &pem, 0o600)?;
    write_new(&pub_path, &public.to_pem(), 0o644)?;
    println!("private key written to {}", key_path.display());
    println!(
        "public key written to {} ({})",
        pub_path.display(),
        public.fingerprint()
    );
    Ok(())
}

/// The passphrase, which a new key file must have.
fn passphrase() -> anyhow::Result<SecretString> {
    let passphrase = super::sign::key_passphrase()?;
    if passphrase.expose_secret().is_empty() {
        bail!("the passphrase is empty: a key file needs one");
    }
    Ok(passphrase)
}

/// Creates `path` (failing if it exists) readable as `mode` says.
fn write_new(path: &std::path::Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
