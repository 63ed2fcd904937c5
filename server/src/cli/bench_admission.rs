//! `trustwatch bench admission`: AdmissionReviews for pods of three containers, sent over HTTP
//! to a running server's `POST /k8s/admission` from concurrent clients, against a trust bundle
//! of 50 keys and 200 policies whose images are signed in a real registry. Reports throughput
//! and the latency of each review. `scripts/bench admission` starts the registry, a release
//! server and a fresh database, and runs this.
//!
//! `--setup` first fills the database (keys and policies, through the service layer as the CLI
//! does) and the registry (images, and a cosign signature of each by its policy's key). A
//! warm-up pass then lets the server cache what it caches in production — resolved tags,
//! signature lists, verified signatures, the bundle, the token — and the measured run follows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use domain::cosign_key::CosignPrivateKey;
use domain::{Digest, ImageReference, KeyStatus};
use service::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};
use service::registry::{RegistryClient, RegistryConfig};

#[derive(Args)]
pub struct AdmissionArgs {
    /// The server, e.g. http://127.0.0.1:3000
    #[arg(long)]
    server: String,
    /// An `ingest:verification` token bound to a cluster (TRUSTWATCH_TOKEN).
    #[arg(long, env = "TRUSTWATCH_TOKEN", hide_env_values = true)]
    token: String,
    /// The registry the images live in (`host:port`, spoken to in plain HTTP).
    #[arg(long)]
    registry: String,
    /// Create the keys, policies, images and signatures first (needs DATABASE_URL).
    #[arg(long)]
    setup: bool,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Reviews measured (after the warm-up).
    #[arg(long, default_value_t = 200_000)]
    reviews: u64,
    /// Reviews sent before measuring.
    #[arg(long, default_value_t = 5_000)]
    warmup: u64,
    /// Concurrent connections, as an API server's webhook client keeps them.
    #[arg(long, default_value_t = 8)]
    clients: u64,
    #[arg(long, default_value_t = 50)]
    keys: usize,
    #[arg(long, default_value_t = 200)]
    policies: usize,
    /// Distinct images; each pod runs three of them.
    #[arg(long, default_value_t = 30)]
    images: usize,
    /// Send the reviews as dry runs (`kubectl apply --dry-run=server`): decided in full, but not
    /// stored, which measures the admission path without the database's share.
    #[arg(long)]
    dry_run: bool,
}

/// Image `i`: its repository is covered by policy `i * 7 % policies`.
fn image(registry: &str, i: usize, policies: usize) -> String {
    format!("{registry}/svc-{:03}/app:1.{i}", i * 7 % policies)
}

pub async fn run(settings: &crate::Settings, args: AdmissionArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.images < 3 || args.keys == 0 || args.policies < args.keys {
        bail!("--clients above zero, --images at least 3, --policies at least --keys");
    }
    if args.setup {
        setup(settings, &args).await?;
    }
    let url = format!("{}/k8s/admission", args.server.trim_end_matches('/'));
    let bodies = Arc::new(review_bodies(&args, 1000));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients as usize)
        .tcp_nodelay(true)
        .http1_only()
        .build()?;

    let warm = send(
        &client,
        &url,
        &args.token,
        &bodies,
        args.warmup,
        args.clients,
    )
    .await?;
    if warm.refused > 0 {
        bail!(
            "{} of {} warm-up reviews were refused: the setup is incomplete (run with --setup)",
            warm.refused,
            args.warmup
        );
    }
    let started = Instant::now();
    let mut run = send(
        &client,
        &url,
        &args.token,
        &bodies,
        args.reviews,
        args.clients,
    )
    .await?;
    let elapsed = started.elapsed();
    run.latencies.sort();
    let pct = |p: f64| {
        run.latencies[((run.latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64()
            * 1000.0
    };
    println!(
        "bundle:            {} keys, {} policies; {} images, 3 per pod",
        args.keys, args.policies, args.images
    );
    println!(
        "reviews:           {} measured after {} warm-up, from {} clients{}",
        args.reviews,
        args.warmup,
        args.clients,
        if args.dry_run {
            " (dry runs: decided, not stored)"
        } else {
            ", every decision stored"
        }
    );
    println!("refused:           {}", run.refused);
    println!("elapsed:           {:.1} s", elapsed.as_secs_f64());
    println!(
        "throughput:        {:.0} reviews/s",
        args.reviews as f64 / elapsed.as_secs_f64()
    );
    println!("latency p50:       {:.3} ms", pct(0.50));
    println!("latency p90:       {:.3} ms", pct(0.90));
    println!("latency p99:       {:.3} ms", pct(0.99));
    println!("latency p99.9:     {:.3} ms", pct(0.999));
    println!("latency max:       {:.3} ms", pct(1.0));
    Ok(())
}

struct Sent {
    latencies: Vec<Duration>,
    refused: u64,
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bodies: &Arc<Vec<axum::body::Bytes>>,
    count: u64,
    clients: u64,
) -> anyhow::Result<Sent> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, token, bodies, next) = (
            client.clone(),
            url.to_owned(),
            format!("Bearer {token}"),
            Arc::clone(bodies),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            let mut sent = Sent {
                latencies: Vec::with_capacity((count / clients + 1) as usize),
                refused: 0,
            };
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let body = bodies[(n % bodies.len() as u64) as usize].clone();
                let t0 = Instant::now();
                let res = client
                    .post(&url)
                    .header("authorization", &token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .context("sending a review")?;
                let status = res.status();
                let answer = res.bytes().await.context("reading the answer")?;
                sent.latencies.push(t0.elapsed());
                if !status.is_success() {
                    bail!(
                        "review {n} answered {status}: {}",
                        String::from_utf8_lossy(&answer)
                    );
                }
                // A substring test, not a JSON parse: the client must not be what is measured.
                if !answer.windows(15).any(|w| w == b"\"allowed\":true,") {
                    sent.refused += 1;
                }
            }
            anyhow::Ok(sent)
        }));
    }
    let mut all = Sent {
        latencies: Vec::with_capacity(count as usize),
        refused: 0,
    };
    for t in tasks {
        let s = t.await??;
        all.latencies.extend(s.latencies);
        all.refused += s.refused;
    }
    Ok(all)
}

/// `n` reviews of pods, each running three of the images, with distinct uids.
fn review_bodies(args: &AdmissionArgs, n: usize) -> Vec<axum::body::Bytes> {
    (0..n)
        .map(|i| {
            let containers: Vec<serde_json::Value> = (0..3)
                .map(|c| {
                    serde_json::json!({
                        "name": format!("c{c}"),
                        "image": image(&args.registry, (i * 3 + c) % args.images, args.policies),
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                    })
                })
                .collect();
            let review = serde_json::json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                    "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": "payments",
                    "operation": "CREATE",
                    "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                                 "groups": ["system:serviceaccounts", "system:authenticated"]},
                    "object": {
                        "apiVersion": "v1", "kind": "Pod",
                        "metadata": {"generateName": "api-7d9c5b6f4-", "namespace": "payments",
                                     "labels": {"app": "api", "pod-template-hash": "7d9c5b6f4"},
                                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                          "name": "api-7d9c5b6f4", "controller": true,
                                                          "uid": "0b0f6f5e-2b7c-4a53-9d3e-6c2f1c9c1a11"}]},
                        "spec": {"containers": containers, "restartPolicy": "Always",
                                 "serviceAccountName": "default", "terminationGracePeriodSeconds": 30}
                    },
                    "oldObject": null,
                    "dryRun": args.dry_run,
                    "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
                }
            });
            axum::body::Bytes::from(serde_json::to_vec(&review).unwrap_or_default())
        })
        .collect()
}

/// Keys, policies, images and signatures; keys and policies through the service layer, as
/// `trustwatch keys import` and `trustwatch policy apply` against the database do, so the server
/// sees them in a published trust bundle.
async fn setup(settings: &crate::Settings, args: &AdmissionArgs) -> anyhow::Result<()> {
    let url = args
        .database_url
        .as_deref()
        .context("--setup needs DATABASE_URL")?;
    let pool = service::connect(url, 4).await?;
    service::migrate(&pool).await?;
    let publisher = crate::bundle_key::for_command(settings, &pool).await?;
    let actor = service::Actor::cli();
    let keys: Vec<CosignPrivateKey> = (0..args.keys)
        .map(|i| {
            let mut scalar = [0x5a; 32];
            scalar[0] = 1;
            scalar[31] = i as u8;
            CosignPrivateKey::from_random_scalar(&scalar)
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for (i, key) in keys.iter().enumerate() {
        let public = key.public_key();
        service::keys::register(
            &pool,
            &actor,
            &publisher,
            &service::keys::NewKey {
                name: format!("bench-key-{i:02}"),
                fingerprint: public.fingerprint().clone(),
                algorithm: public.algorithm().as_str().to_owned(),
                public_key_pem: public.to_pem(),
                owner_team: format!("team-{}", i % 10),
                custody: "file".into(),
                custody_uri: None,
                status: KeyStatus::Active,
                valid_from: chrono::Utc::now() - chrono::TimeDelta::days(1),
                valid_until: None,
                rotation_period_days: None,
                compromised_since: None,
            },
        )
        .await
        .with_context(|| format!("registering key {i}"))?;
    }
    let documents: Vec<String> = (0..args.policies)
        .map(|j| {
            format!(
                "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: bench-{j:03}}}\n\
                 spec:\n  images: [\"{}/svc-{j:03}/*\"]\n  namespaces: [\"payments\", \"web-*\"]\n  \
                 identity: repository\n  authorities: {{keys: [bench-key-{:02}]}}\n",
                args.registry,
                j % args.keys
            )
        })
        .collect();
    service::policies::apply(
        &pool,
        &actor,
        &publisher,
        &documents.join("---\n"),
        service::policies::ApplyOptions::default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("applying the policies: {e}"))?;
    let registry = RegistryClient::new(RegistryConfig::default().allowing_http(&args.registry))?;
    for i in 0..args.images {
        let reference = ImageReference::parse(&image(&args.registry, i, args.policies))?;
        let digest = push_image(&registry, &reference, &format!("bench image {i}")).await?;
        let payload = domain::simple_signing::cosign_payload(&reference, &digest);
        let key = &keys[(i * 7 % args.policies) % args.keys];
        registry
            .push_signature(&reference, &digest, &payload, &key.sign(&payload))
            .await?;
    }
    println!(
        "set up {} keys, {} policies, {} signed images in {:.1} s",
        args.keys,
        args.policies,
        args.images,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn push_image(
    client: &RegistryClient,
    image: &ImageReference,
    content: &str,
) -> anyhow::Result<Digest> {
    let layer = client.upload_blob(image, content.as_bytes()).await?;
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer.as_str()]},
    }))?;
    let config_digest = client.upload_blob(image, &config).await?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest.as_str(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.as_str(), "size": content.len()}],
    }))?;
    let tag = image.tag().context("a tagged image")?;
    Ok(client
        .put_manifest(image, tag, OCI_MANIFEST, &manifest)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: AdmissionArgs,
    }

    #[test]
    fn review_bodies_are_pods_of_three_covered_images() {
        let cli = Cli::parse_from([
            "x",
            "--server",
            "http://s",
            "--token",
            "t",
            "--registry",
            "127.0.0.1:5000",
        ]);
        let bodies = review_bodies(&cli.args, 20);
        let policies: Vec<String> = (0..cli.args.policies)
            .map(|j| format!("127.0.0.1:5000/svc-{j:03}"))
            .collect();
        for body in bodies {
            let review = domain::admission_review::ReviewRequest::parse(&body).unwrap();
            let spec = review.pod_spec().unwrap();
            assert_eq!(spec.distinct_images().len(), 3);
            for (image, _) in spec.distinct_images() {
                let covered = policies
                    .iter()
                    .any(|p| image.name().starts_with(&format!("{p}/")));
                assert!(covered, "{image}");
            }
        }
    }
}
