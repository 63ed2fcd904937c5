//! `trustwatch policy apply|export`: policies and key groups as code, through a server
//! (`--server`, an admin token) or directly on the database.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use domain::policy_export::ExportFormat;
use serde_json::Value;
use service::policies::{ApplyError, ApplyOptions};

use super::trust_target::{self, Target, TargetArgs};
use crate::Settings;

#[derive(Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a file of Policy and KeyGroup documents (YAML or JSON, separated by ---), show
    /// what changes, and store it: audited, and publishing a new trust bundle.
    Apply {
        /// The file; `-` for standard input.
        #[arg(long = "file", short = 'f')]
        file: PathBuf,
        /// Validate and show the diff only; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the stored policies and key groups the file does not contain.
        #[arg(long)]
        prune: bool,
    },
    /// Write every key group and policy as one YAML file, which applies back unchanged; with
    /// --engine, the policies as another admission engine's objects instead.
    Export {
        /// The file to write; `-` for standard output.
        #[arg(long, short = 'o', default_value = "-")]
        output: PathBuf,
        /// kyverno-cluster-policy, kyverno-image-validating-policy or policy-controller.
        #[arg(long)]
        engine: Option<String>,
        /// A key fingerprint to leave out (with --engine); repeat for several.
        #[arg(long, requires = "engine")]
        without: Vec<String>,
    },
}

/// One document's change as printed: the diff, then a line saying what happened.
struct Change {
    kind: String,
    name: String,
    change: String,
    diff: String,
}

fn print_outcome(changes: &[Change], dry_run: bool, bundle_version: Option<u64>) {
    for c in changes {
        if !c.diff.is_empty() {
            print!("{}", c.diff);
        }
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for c in changes {
        let kind = if c.kind == "KeyGroup" {
            "key group"
        } else {
            "policy"
        };
        println!("{kind} {}: {}", c.name, c.change);
        match counts.iter_mut().find(|(k, _)| *k == c.change) {
            Some((_, n)) => *n += 1,
            None => counts.push((c.change.clone(), 1)),
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let tail = match (dry_run, bundle_version) {
        (true, _) => "dry run: nothing was stored".to_owned(),
        (false, Some(v)) => format!("published trust bundle version {v}"),
        (false, None) => "nothing changed".to_owned(),
    };
    println!("{}; {tail}", summary.join(", "));
}

pub async fn run(settings: &Settings, args: PolicyArgs) -> anyhow::Result<()> {
    let target = args.target.resolve(settings)?;
    match args.command {
        PolicyCommand::Apply {
            file,
            dry_run,
            prune,
        } => {
            let text = trust_target::read_input(&file)?;
            let (changes, bundle_version): (Vec<Change>, Option<u64>) = match target {
                Target::Server(client) => {
                    let mut url = client.url(&["policies", "apply"])?;
                    url.query_pairs_mut()
                        .append_pair("dry_run", &dry_run.to_string())
                        .append_pair("prune", &prune.to_string());
                    let res = client
                        .send(
                            client
                                .http()
                                .post(url)
                                .header("content-type", "application/yaml")
                                .body(text),
                        )
                        .await?;
                    let outcome: Value = res.json().await?;
                    let changes = outcome["changes"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(|c| Change {
                            kind: c["kind"].as_str().unwrap_or_default().to_owned(),
                            name: c["name"].as_str().unwrap_or_default().to_owned(),
                            change: c["change"].as_str().unwrap_or_default().to_owned(),
                            diff: c["diff"].as_str().unwrap_or_default().to_owned(),
                        })
                        .collect();
                    (changes, outcome["bundle_version"].as_u64())
                }
                Target::Database(settings) => {
                    let (pool, publisher) = trust_target::database(&settings).await?;
                    let outcome = service::policies::apply(
                        &pool,
                        &service::Actor::cli(),
                        &publisher,
                        &text,
                        ApplyOptions { dry_run, prune },
                    )
                    .await
                    .map_err(|e| match e {
                        ApplyError::Invalid(problems) => {
                            let mut m =
                                format!("{} was refused; nothing was stored:", file.display());
                            for p in problems.iter() {
                                m.push_str(&format!("\n  {p}"));
                            }
                            anyhow::anyhow!(m)
                        }
                        ApplyError::Service(e) => e.into(),
                    })?;
                    let changes = outcome
                        .changes
                        .iter()
                        .map(|c| Change {
                            kind: c.kind.as_str().to_owned(),
                            name: c.name.clone(),
                            change: c.change.as_str().to_owned(),
                            diff: c.diff.clone(),
                        })
                        .collect();
                    (changes, outcome.bundle_version)
                }
            };
            print_outcome(&changes, dry_run, bundle_version);
        }
        PolicyCommand::Export {
            output,
            engine,
            without,
        } => {
            let format = engine.as_deref().map(ExportFormat::parse).transpose()?;
            let yaml = match (target, format) {
                (Target::Server(client), None) => {
                    client.get(&["policies", "export"]).await?.text().await?
                }
                (Target::Server(client), Some(format)) => {
                    let mut url = client.url(&["policies", "export"])?;
                    url.query_pairs_mut().append_pair("format", format.as_str());
                    for fingerprint in &without {
                        url.query_pairs_mut().append_pair("without", fingerprint);
                    }
                    client.send(client.http().get(url)).await?.text().await?
                }
                (Target::Database(settings), None) => {
                    let pool = super::connect(&settings).await?;
                    service::policies::export(&pool).await?
                }
                (Target::Database(settings), Some(format)) => {
                    let pool = super::connect(&settings).await?;
                    service::policy_export::export_yaml(&pool, format, &without).await?
                }
            };
            trust_target::write_output(&output, yaml.as_bytes())?;
            if let Some(format) = format {
                eprintln!(
                    "{}: {}",
                    format,
                    domain::policy_export::cache_expiry_note(format)
                );
            }
        }
    }
    Ok(())
}
