//! `trustwatch bundle export` (the signed trust bundle, for offline `trustwatch verify --bundle`)
//! and `trustwatch bundle key` (the public bundle key that verifies it, PEM).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use domain::SignedTrustBundle;

use super::trust_target::{self, Target, TargetArgs};
use crate::Settings;

#[derive(Args)]
pub struct BundleArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    command: BundleCommand,
}

#[derive(Subcommand)]
pub enum BundleCommand {
    /// Write the newest signed trust bundle (the JSON envelope GET /api/v1/trust-bundle serves).
    Export {
        /// The file to write; `-` for standard output.
        #[arg(long, short = 'o', default_value = "-")]
        output: PathBuf,
    },
    /// Print the public bundle key (PEM) that verifies the bundle: from the server with
    /// --server, else from the bundle key file of the settings.
    Key {
        /// The file to write; `-` for standard output.
        #[arg(long, short = 'o', default_value = "-")]
        output: PathBuf,
    },
}

pub async fn run(settings: &Settings, args: BundleArgs) -> anyhow::Result<()> {
    let target = args.target;
    match args.command {
        BundleCommand::Export { output } => {
            let (version, bytes) = match target.resolve(settings)? {
                Target::Server(client) => {
                    let res = client.get(&["trust-bundle"]).await?;
                    let bytes = res.bytes().await?.to_vec();
                    let signed: SignedTrustBundle = serde_json::from_slice(&bytes)
                        .context("the server's answer is not a signed trust bundle")?;
                    (signed.bundle["version"].as_u64().unwrap_or(0), bytes)
                }
                Target::Database(settings) => {
                    let pool = super::connect(&settings).await?;
                    let signed = match service::trust_bundle::current_signed(&pool).await? {
                        Some(s) => s,
                        None => {
                            // Nothing published yet: this is the first start; publish version 1.
                            crate::bundle_key::for_command(&settings, &pool).await?;
                            service::trust_bundle::current_signed(&pool)
                                .await?
                                .context("no trust bundle could be published")?
                        }
                    };
                    (signed.version, signed.signed)
                }
            };
            trust_target::write_output(&output, &bytes)?;
            if output.as_os_str() != "-" {
                eprintln!(
                    "wrote trust bundle version {version} to {}",
                    output.display()
                );
            }
        }
        BundleCommand::Key { output } => {
            let server = target
                .server
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty());
            let pem = match server.then(|| target.resolve(settings)).transpose()? {
                Some(Target::Server(client)) => {
                    client.get(&["trust-bundle", "key"]).await?.text().await?
                }
                // The key file is all this needs; no database.
                _ => {
                    let path = &settings.bundle_key_file;
                    crate::bundle_key::read(path)?
                        .with_context(|| {
                            format!(
                                "the bundle key file {} does not exist: start the server once, set TRUSTWATCH_BUNDLE_KEY_FILE, or use --server",
                                path.display()
                            )
                        })?
                        .public_key()
                        .to_pem()
                }
            };
            trust_target::write_output(&output, pem.as_bytes())?;
        }
    }
    Ok(())
}
