//! `trustwatch verify IMAGE`: decides, as an admission would, whether an image may run — the
//! registry's cosign signatures judged against a trust bundle, either the one a server publishes
//! (`--server`) or a file (`--bundle`, offline). The bundle's own signature is always checked
//! first; a bundle that does not check out is refused, never used.
//!
//! Exit status: 0 allowed, 1 refused, 2 could not decide (bad input, an unreachable registry or
//! server, a bad or expired bundle).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use domain::{
    evaluate, AdmissionRequest, Check, Decision, DirectVerifier, ImageReference, PublicKey,
    SignatureEvidence, SignedTrustBundle, TrustBundle,
};

use super::registry_args::RegistryArgs;
use super::ExitStatus;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The image, by tag (resolved to its digest now) or by digest.
    image: String,
    /// Use the bundle this Trustwatch server publishes (`GET /api/v1/trust-bundle`), with a
    /// token that has the `read` scope in TRUSTWATCH_TOKEN.
    #[arg(
        long,
        env = "TRUSTWATCH_SERVER",
        value_name = "URL",
        conflicts_with = "bundle"
    )]
    server: Option<String>,
    /// Use this signed bundle file (offline), as `trustwatch bundle export` writes it.
    /// Needs --bundle-key.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// The bundle key's public half (PEM), to check the bundle's signature with. Required with
    /// --bundle; with --server, the default is the key the server publishes.
    #[arg(long, value_name = "FILE")]
    bundle_key: Option<PathBuf>,
    /// The cluster to evaluate for: policies scoped to other clusters do not apply.
    #[arg(long, default_value = "")]
    cluster: String,
    /// The namespace to evaluate for.
    #[arg(long, default_value = "default")]
    namespace: String,
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let decided = decide(&args).await.map_err(|e| ExitStatus {
        code: 2,
        message: Some(format!("could not decide: {e:#}")),
    })?;
    let (image, digest, version, decision) = decided;
    match args.output {
        Output::Json => {
            let mut value = serde_json::to_value(&decision)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("image".into(), image.to_string().into());
                object.insert("digest".into(), digest.to_string().into());
                object.insert("bundle_version".into(), version.into());
            }
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Output::Text => print_text(&image, &digest, version, &decision),
    }
    if decision.allowed {
        Ok(())
    } else {
        Err(ExitStatus {
            code: 1,
            message: None,
        }
        .into())
    }
}

async fn decide(
    args: &VerifyArgs,
) -> anyhow::Result<(ImageReference, domain::Digest, u64, Decision)> {
    let image = ImageReference::parse(&args.image)
        .with_context(|| format!("{:?} is not an image reference", args.image))?;
    let now = chrono::Utc::now();
    let bundle = load_bundle(args, now).await?;

    let client = args.registry.client(&image)?;
    let digest = client
        .resolve(&image)
        .await
        .with_context(|| format!("resolving {image} to a digest"))?;
    let signatures: Vec<SignatureEvidence> = client
        .signatures(&image, &digest)
        .await
        .with_context(|| format!("reading the signatures of {image}"))?
        .into_iter()
        .map(|s| SignatureEvidence::from_registry(s.payload, s.signature))
        .collect();
    let request = AdmissionRequest {
        image: image.clone(),
        digest: Some(digest.clone()),
        cluster: args.cluster.clone(),
        namespace: args.namespace.clone(),
    };
    let decision = evaluate(&request, &signatures, &bundle, &DirectVerifier, now);
    Ok((image, digest, bundle.version(), decision))
}

/// The trust bundle, its signature checked against the bundle key and its expiry against `now`.
async fn load_bundle(
    args: &VerifyArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<TrustBundle> {
    let file_key = args
        .bundle_key
        .as_deref()
        .map(read_bundle_key)
        .transpose()?;
    let (signed, key, origin) = match (&args.server, &args.bundle) {
        (Some(server), None) => {
            let base = server.trim_end_matches('/');
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?;
            let token = std::env::var("TRUSTWATCH_TOKEN").ok();
            let body = get(
                &http,
                &format!("{base}/api/v1/trust-bundle"),
                token.as_deref(),
            )
            .await?;
            let signed: SignedTrustBundle = serde_json::from_slice(&body)
                .with_context(|| format!("{base}/api/v1/trust-bundle is not a signed bundle"))?;
            let key = match file_key {
                Some(key) => key,
                None => {
                    let url = format!("{base}/api/v1/trust-bundle/key");
                    let body = get(&http, &url, token.as_deref()).await?;
                    published_key(&body).with_context(|| format!("reading the key at {url}"))?
                }
            };
            (signed, key, base.to_owned())
        }
        (None, Some(path)) => {
            let key = file_key.ok_or_else(|| {
                anyhow!(
                    "--bundle needs --bundle-key FILE: a bundle whose signature is not checked is never used"
                )
            })?;
            let text = std::fs::read(path)
                .with_context(|| format!("reading the bundle {}", path.display()))?;
            let signed: SignedTrustBundle = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a signed trust bundle", path.display()))?;
            (signed, key, path.display().to_string())
        }
        _ => bail!("say where the trust bundle comes from: --server URL or --bundle FILE"),
    };
    signed
        .verify(&[key], now)
        .with_context(|| format!("the trust bundle from {origin} is refused"))
}

fn read_bundle_key(path: &Path) -> anyhow::Result<PublicKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the bundle key {}", path.display()))?;
    PublicKey::parse_pem(&text).with_context(|| format!("{} is not a public key", path.display()))
}

/// The bundle key as `GET /api/v1/trust-bundle/key` serves it: the PEM text of the public key
/// (`application/x-pem-file`), nothing around it.
fn published_key(body: &[u8]) -> anyhow::Result<PublicKey> {
    let text = std::str::from_utf8(body).context("the answer is not text")?;
    PublicKey::parse_pem(text).context("the answer is not a PEM public key")
}

async fn get(http: &reqwest::Client, url: &str, token: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request
        .send()
        .await
        .with_context(|| format!("could not reach {url}"))?;
    let status = res.status();
    let body = res.bytes().await?.to_vec();
    if !status.is_success() {
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|p| p["detail"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let hint = if status.as_u16() == 401 {
            " (a token with the read scope goes in TRUSTWATCH_TOKEN)"
        } else {
            ""
        };
        bail!("{url} answered {status}{hint} {detail}");
    }
    Ok(body)
}

fn print_text(image: &ImageReference, digest: &domain::Digest, version: u64, d: &Decision) {
    let verdict = if d.allowed { "ALLOWED" } else { "REFUSED" };
    println!(
        "{verdict}: {image} ({digest}), reason {}, mode {}, trust bundle version {version}",
        d.reason.as_str(),
        d.mode
    );
    println!("{}", d.summary);
    println!("checks:");
    for check in &d.checks {
        print_check(check, 1);
    }
    for w in &d.warnings {
        println!("warning: {w}");
    }
    for r in &d.remediation {
        println!("to fix: {r}");
    }
}

fn print_check(c: &Check, depth: usize) {
    let mark = if c.passed { "ok  " } else { "FAIL" };
    let reason = c
        .reason
        .map(|r| format!(" [{}]", r.as_str()))
        .unwrap_or_default();
    println!(
        "{}{mark} {}: {}{reason}",
        "  ".repeat(depth),
        c.subject,
        c.detail
    );
    if let (Some(expected), Some(found)) = (&c.expected, &c.found) {
        println!(
            "{}     expected {expected}, found {found}",
            "  ".repeat(depth)
        );
    }
    for child in &c.children {
        print_check(child, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_key_is_pem() {
        let pem = domain::BundleSigningKey::from_seed(&[7; 32])
            .unwrap()
            .public_key()
            .to_pem();
        assert_eq!(
            published_key(pem.as_bytes()).unwrap(),
            PublicKey::parse_pem(&pem).unwrap()
        );
        let wrapped = serde_json::json!({ "public_key_pem": pem }).to_string();
        assert!(published_key(wrapped.as_bytes()).is_err());
        assert!(published_key(b"\xff\xfe").is_err());
    }
}
