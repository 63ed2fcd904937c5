//! `trustwatch bench ingest`: pushes verification events to a running server over HTTP, in
//! batches from concurrent clients, and reports throughput and batch latency. `scripts/bench`
//! starts a release server against a fresh database and runs this against it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Verification-event ingestion through `POST /api/v1/verification-events`.
    Ingest(IngestArgs),
    /// Admission reviews through `POST /k8s/admission`.
    Admission(super::bench_admission::AdmissionArgs),
    /// Server renders of every page over a large history (`--load` fills the database first).
    Pages(super::bench_pages::PagesArgs),
}

#[derive(Args)]
pub struct IngestArgs {
    /// The server, e.g. http://127.0.0.1:3000
    #[arg(long)]
    server: String,
    /// An `ingest:verification` token bound to a cluster (TRUSTWATCH_TOKEN).
    #[arg(long, env = "TRUSTWATCH_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, default_value_t = 2_000_000)]
    events: u64,
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// How many distinct images (one digest per repository and tag) the events are spread over.
    /// A cluster admits the same few hundred images again and again; a large number makes every
    /// event in a batch a different image, the worst case for per-digest bookkeeping.
    #[arg(long, default_value_t = 200)]
    images: u64,
}

pub async fn run(settings: &crate::Settings, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args).await,
        BenchCommand::Admission(args) => super::bench_admission::run(settings, args).await,
        BenchCommand::Pages(args) => super::bench_pages::run(settings, args).await,
    }
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.clients == 0 || args.images == 0 || args.events < args.batch {
        bail!("--events must be at least --batch, and --batch, --clients and --images above zero");
    }
    let batches = args.events / args.batch;
    let url = format!(
        "{}/api/v1/verification-events",
        args.server.trim_end_matches('/')
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients as usize)
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, url, token, next, accepted) = (
            client.clone(),
            url.clone(),
            args.token.clone(),
            next.clone(),
            accepted.clone(),
        );
        let (size, images) = (args.batch, args.images);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= batches {
                    break;
                }
                let body = batch_body(n, size, images);
                let t0 = Instant::now();
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .context("sending a batch")?;
                let status = res.status();
                let answer: serde_json::Value = res.json().await.context("reading the answer")?;
                if !status.is_success() {
                    bail!("batch {n} refused with {status}: {answer}");
                }
                latencies.push(t0.elapsed());
                accepted.fetch_add(answer["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let total = batches * args.batch;
    println!(
        "events sent:       {total} in {} batches of {} from {} clients",
        batches, args.batch, args.clients
    );
    println!("distinct images:   {}", args.images.min(total));
    println!("events stored:     {}", accepted.load(Ordering::Relaxed));
    println!("elapsed:           {:.1} s", elapsed.as_secs_f64());
    println!(
        "throughput:        {:.0} events/s",
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "batch latency p50: {:.1} ms",
        pct(0.50).as_secs_f64() * 1000.0
    );
    println!(
        "batch latency p99: {:.1} ms",
        pct(0.99).as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Batch `n`: realistic events (mostly admitted, some refusals with the engine's text) over
/// `images` distinct images, ids unique across the run, times spread over the last hour. Written as text directly: building
/// JSON trees would make the client, not the server, the thing measured.
fn batch_body(n: u64, size: u64, images: u64) -> String {
    use std::fmt::Write;
    const REPOS: [&str; 4] = [
        "payments/api",
        "payments/worker",
        "web/frontend",
        "data/etl",
    ];
    let now = chrono::Utc::now();
    let mut body = String::with_capacity(size as usize * 560 + 16);
    body.push_str("{\"events\":[");
    for i in 0..size {
        let k = n * size + i;
        // Image number j is repository j % 4 at version j / 4, with one digest per image.
        let j = k % images;
        let repo = REPOS[(j % 4) as usize];
        let (team, name) = repo.split_once('/').unwrap_or(("default", repo));
        let rejected = k.is_multiple_of(10);
        let observed = (now - chrono::Duration::milliseconds((k % 3_600_000) as i64))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ");
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            "{{\"id\":\"{}\",\"namespace\":\"{team}\",\"workload\":{{\"kind\":\"Deployment\",\"name\":\"{name}\"}},\
             \"image\":\"registry.example.com/{repo}:1.{}.0\",\"digest\":\"{}\",\
             \"outcome\":\"{}\",\"reason\":\"{}\",\"engine\":\"kyverno\",\"policy\":\"require-signed\",\
             \"keys\":[\"sha256:{:064x}\"],\"observed_at\":\"{observed}\"",
            uuid::Uuid::now_v7(),
            j / 4,
            // Real digests are uniformly random: the hash of the image number.
            domain::Digest::of(&j.to_le_bytes()),
            if rejected { "rejected" } else { "admitted" },
            if rejected { "unsigned" } else { "admitted" },
            k % 7,
        );
        if rejected {
            let _ = write!(
                body,
                ",\"message\":\"failed to verify image registry.example.com/{repo}: no signatures found\""
            );
        }
        body.push('}');
    }
    body.push_str("]}");
    body
}

#[cfg(test)]
mod tests {
    #[test]
    fn batch_bodies_are_valid_native_batches() {
        let body: serde_json::Value = serde_json::from_str(&super::batch_body(3, 20, 7)).unwrap();
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 20);
        let now = chrono::Utc::now();
        for e in events {
            let raw: domain::wire::RawVerificationEvent =
                serde_json::from_value(e.clone()).unwrap();
            raw.validate(now, Some("bench-1")).unwrap();
        }
    }
}
