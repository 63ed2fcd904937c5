//! The command line: `trustwatch serve`, and the administrative commands that work directly
//! against `DATABASE_URL`.

mod admin;
mod bench;
mod bench_admission;
mod bench_pages;
mod bundle;
mod demo;
mod generate_key_pair;
mod keys;
mod migrate;
mod policy;
mod registry_args;
mod report;
mod serve;
mod sign;
mod token;
mod trust_target;
mod verify;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::Settings;

#[derive(Parser)]
#[command(
    name = "trustwatch",
    version,
    about = "The control room for container-image signing in Kubernetes"
)]
pub struct Cli {
    /// A TOML settings file; `TRUSTWATCH_*` variables override it.
    #[arg(long, global = true, env = "TRUSTWATCH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the UI and the APIs (migrates the database first).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Manage people's accounts.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage machine tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Load the demo fleet (once; later runs leave the data alone).
    Demo,
    /// Send events from a file or standard input to a server (native JSON lines, or policy
    /// reports in YAML/JSON), with retries and progress.
    Report(report::ReportArgs),
    /// Signing keys: import, change status, list (through --server or on the database).
    Keys(keys::KeysArgs),
    /// Policies and key groups as code: apply a file (validated, diffed, audited), export all.
    Policy(policy::PolicyArgs),
    /// The signed trust bundle: export it for offline verification, print its public key.
    Bundle(bundle::BundleArgs),
    /// Measure a running server (see scripts/bench).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Sign an image with a cosign key file, push the signature to the registry (as cosign
    /// does) and record the signing event (--server).
    Sign(sign::SignArgs),
    /// Decide whether an image may run, from a trust bundle (--server or --bundle) and the
    /// registry's signatures. Exit status 0 allowed, 1 refused, 2 could not decide.
    Verify(verify::VerifyArgs),
    /// Write a new cosign key pair (PREFIX.key, PREFIX.pub), encrypted with the passphrase in
    /// TRUSTWATCH_KEY_PASSWORD or COSIGN_PASSWORD.
    GenerateKeyPair(generate_key_pair::GenerateKeyPairArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(settings.log_format);
    match cli.command {
        Command::Serve => serve::run(&settings).await,
        Command::Migrate => migrate::run(&settings).await,
        Command::Admin(cmd) => admin::run(&settings, cmd).await,
        Command::Token(cmd) => token::run(&settings, cmd).await,
        Command::Demo => demo::run(&settings).await,
        Command::Bench(cmd) => bench::run(&settings, cmd).await,
        Command::Report(args) => report::run(args).await,
        Command::Keys(args) => keys::run(&settings, args).await,
        Command::Policy(args) => policy::run(&settings, args).await,
        Command::Bundle(args) => bundle::run(&settings, args).await,
        Command::Sign(args) => sign::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::GenerateKeyPair(args) => generate_key_pair::run(args).await,
    }
}

/// Connects and migrates: every command needs the current schema.
async fn connect(settings: &Settings) -> anyhow::Result<sqlx::PgPool> {
    let url = settings.require_database_url()?;
    let pool = service::connect(url.expose_secret(), settings.database_max_connections)
        .await
        .context("connecting to PostgreSQL at DATABASE_URL")?;
    service::migrate(&pool)
        .await
        .context("migrating the database")?;
    Ok(pool)
}

/// A command's result as a specific exit status (`verify`: 1 refused, 2 could not decide);
/// `main` exits with `code` after printing `message`, if any.
#[derive(Debug)]
pub struct ExitStatus {
    pub code: u8,
    pub message: Option<String>,
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(message) => f.write_str(message),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for ExitStatus {}
