//! `trustwatch sign --key KEY IMAGE`: signs an image the way cosign does — the simple-signing
//! payload for its digest, signed with the key from a cosign key file, pushed to the registry as
//! a `sha256-<hex>.sig` layer — and records the signing event with a Trustwatch server.
//!
//! The passphrase comes only from the environment (`TRUSTWATCH_KEY_PASSWORD`, else
//! `COSIGN_PASSWORD`, as cosign reads it), never from a flag, and is never printed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine as _;
use clap::Args;
use domain::cosign_key::CosignPrivateKey;
use domain::simple_signing::cosign_payload;
use domain::ImageReference;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub struct SignArgs {
    /// The cosign private key file (`cosign.key`, from `cosign generate-key-pair` or
    /// `trustwatch generate-key-pair`).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// The image: by tag (resolved to its digest now; the digest is what is signed) or by digest.
    image: String,
    /// Record the signing event with this Trustwatch server, with a token that has the
    /// `ingest:signing` scope in TRUSTWATCH_TOKEN.
    #[arg(long, env = "TRUSTWATCH_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Who signs, as the signing event records it. Default: the CI job when run in CI, else
    /// `$USER@host`.
    #[arg(long)]
    identity: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub async fn run(args: SignArgs) -> anyhow::Result<()> {
    let image = ImageReference::parse(&args.image)
        .with_context(|| format!("{:?} is not an image reference", args.image))?;
    let passphrase = key_passphrase()?;
    let pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading the key file {}", args.key.display()))?;
    // scrypt is deliberately slow; keep it off the async threads.
    let key = tokio::task::spawn_blocking(move || {
        CosignPrivateKey::decrypt(&pem, passphrase.expose_secret().as_bytes())
    })
    .await?
    .with_context(|| format!("opening the key file {}", args.key.display()))?;
    let token = match &args.server {
        Some(_) => Some(std::env::var("TRUSTWATCH_TOKEN").map_err(|_| {
            anyhow::anyhow!(
                "--server needs a token with the ingest:signing scope in TRUSTWATCH_TOKEN"
            )
        })?),
        None => None,
    };

    let client = args.registry.client(&image)?;
    let digest = client
        .resolve(&image)
        .await
        .with_context(|| format!("resolving {image} to a digest"))?;
    let payload = cosign_payload(&image, &digest);
    let signature = key.sign(&payload);
    let pushed = client
        .push_signature(&image, &digest, &payload, &signature)
        .await
        .with_context(|| format!("pushing the signature of {image}"))?;

    let signed = format!("{}@{digest}", image.name());
    println!("digest: {digest}");
    println!(
        "signed: {signed} with key {}{}",
        key.public_key().fingerprint(),
        if pushed.appended {
            ""
        } else {
            " (this signature was already there)"
        }
    );
    println!(
        "signature: {}:{} ({} signature{} stored)",
        image.name(),
        service::registry::signature_tag(&digest),
        pushed.signatures,
        if pushed.signatures == 1 { "" } else { "s" }
    );

    match (&args.server, token) {
        (Some(server), Some(token)) => {
            let event = json!({
                "id": uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string(),
                "key": key.public_key().fingerprint().to_string(),
                "image": image.to_string(),
                "digest": digest.to_string(),
                "signer": {"identity": args.identity.clone().unwrap_or_else(signer_identity), "host": host()},
                "payload": base64::engine::general_purpose::STANDARD.encode(&payload),
                "signature": base64::engine::general_purpose::STANDARD.encode(&signature),
                "signed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
            record(server, &token, &event).await.with_context(|| {
                format!(
                    "the signature is in the registry, but the signing event was not recorded with {server}"
                )
            })?;
            println!("signing event recorded with {}", server.trim_end_matches('/'));
        }
        _ => println!(
            "no signing event was recorded: pass --server URL (and a token with the ingest:signing scope in TRUSTWATCH_TOKEN) so Trustwatch knows this key was used"
        ),
    }
    Ok(())
}

/// The key file's passphrase, from the environment only (as cosign reads it).
pub(super) fn key_passphrase() -> anyhow::Result<SecretString> {
    for name in ["TRUSTWATCH_KEY_PASSWORD", "COSIGN_PASSWORD"] {
        if let Ok(value) = std::env::var(name) {
            return Ok(SecretString::from(value));
        }
    }
    bail!("set the key file's passphrase in TRUSTWATCH_KEY_PASSWORD (or COSIGN_PASSWORD)")
}

async fn record(server: &str, token: &str, event: &serde_json::Value) -> anyhow::Result<()> {
    let url = format!("{}/api/v1/signing-events", server.trim_end_matches('/'));
    let res = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?
        .post(&url)
        .bearer_auth(token)
        .json(&json!({ "events": [event] }))
        .send()
        .await
        .with_context(|| format!("could not reach {url}"))?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    let problem: serde_json::Value = res.json().await.unwrap_or_default();
    bail!(
        "the server answered {status}: {}",
        problem["detail"].as_str().unwrap_or("no detail")
    )
}

/// Who is signing: the CI job when there is one, else the local user at this host.
fn signer_identity() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let (Some(repo), Some(run)) = (var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
        let workflow = var("GITHUB_WORKFLOW").unwrap_or_default();
        return format!("github-actions:{repo}/{workflow}#{run}");
    }
    if let (Some(project), Some(pipeline)) = (var("CI_PROJECT_PATH"), var("CI_PIPELINE_ID")) {
        return format!("gitlab-ci:{project}#{pipeline}");
    }
    if let (Some(job), Some(build)) = (var("JOB_NAME"), var("BUILD_NUMBER")) {
        return format!("jenkins:{job}#{build}");
    }
    let user = var("USER")
        .or_else(|| var("USERNAME"))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{user}@{}", host())
}

fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}
