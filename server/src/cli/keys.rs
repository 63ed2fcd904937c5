//! `trustwatch keys import|set-status|list`: signing keys, through a server (`--server`, an
//! admin token) or directly on the database. Every change publishes a new trust bundle.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use domain::KeyStatus;
use serde_json::{json, Value};
use service::keys::{Key, KeyChange, KeyImport, UNASSIGNED_OWNER};

use super::trust_target::{self, parse_time, Target, TargetArgs};
use crate::Settings;

#[derive(Args)]
pub struct KeysArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum Custody {
    File,
    Kms,
    Hsm,
}

impl Custody {
    fn as_str(self) -> &'static str {
        match self {
            Custody::File => "file",
            Custody::Kms => "kms",
            Custody::Hsm => "hsm",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Status {
    Active,
    Retiring,
    Revoked,
    Compromised,
}

impl From<Status> for KeyStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Active => KeyStatus::Active,
            Status::Retiring => KeyStatus::Retiring,
            Status::Revoked => KeyStatus::Revoked,
            Status::Compromised => KeyStatus::Compromised,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Import a public key (PEM, e.g. cosign.pub) under a name policies can refer to.
    Import {
        #[arg(long)]
        name: String,
        /// The public key file (`-----BEGIN PUBLIC KEY-----`); `-` for standard input.
        #[arg(long)]
        file: PathBuf,
        /// The team that owns the key.
        #[arg(long, default_value = UNASSIGNED_OWNER)]
        owner: String,
        /// Where the private half is kept.
        #[arg(long, value_enum, default_value = "file")]
        custody: Custody,
        /// Where exactly (e.g. awskms:///alias/release), for the record.
        #[arg(long)]
        custody_uri: Option<String>,
        /// From when its signatures count (default: now). Set it earlier for a key that signed
        /// images before it was imported. RFC 3339, a date, or `now`.
        #[arg(long)]
        valid_from: Option<String>,
        /// Until when its signatures count.
        #[arg(long)]
        valid_until: Option<String>,
        /// How often the key should be rotated, in days.
        #[arg(long)]
        rotation_days: Option<i32>,
    },
    /// Change a key's lifecycle status. `compromised` needs --since (signatures Trustwatch
    /// recorded before it still count); `revoked` takes effect from --since or now.
    SetStatus {
        name: String,
        #[arg(value_enum)]
        status: Status,
        /// RFC 3339 (2026-03-01T12:00:00Z), a date (midnight UTC), or `now`.
        #[arg(long)]
        since: Option<String>,
    },
    /// List the keys.
    List {
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

fn print_change(change: &KeyChange, what: &str) {
    match change.bundle_version {
        Some(v) => println!("{what}; published trust bundle version {v}"),
        None => println!("{what}; nothing changed, no bundle published"),
    }
}

fn describe(key: &Key) -> String {
    let mut s = format!("key {:?} is {}", key.name, key.status);
    if let Some(t) = key.compromised_since {
        s.push_str(&format!(", compromised since {}", t.to_rfc3339()));
    }
    if let Some(t) = key.revoked_at {
        s.push_str(&format!(", revoked at {}", t.to_rfc3339()));
    }
    s
}

pub async fn run(settings: &Settings, args: KeysArgs) -> anyhow::Result<()> {
    let target = args.target.resolve(settings)?;
    match args.command {
        KeysCommand::Import {
            name,
            file,
            owner,
            custody,
            custody_uri,
            valid_from,
            valid_until,
            rotation_days,
        } => {
            let pem = trust_target::read_input(&file)?;
            let valid_from = valid_from.as_deref().map(parse_time).transpose()?;
            let valid_until = valid_until.as_deref().map(parse_time).transpose()?;
            let change: KeyChange = match target {
                Target::Server(client) => {
                    let body = json!({
                        "name": name, "public_key_pem": pem, "owner_team": owner,
                        "custody": custody.as_str(), "custody_uri": custody_uri,
                        "valid_from": valid_from, "valid_until": valid_until,
                        "rotation_period_days": rotation_days,
                    });
                    let res = client
                        .send(client.http().post(client.url(&["keys"])?).json(&body))
                        .await?;
                    from_wire(res.json::<Value>().await?)?
                }
                Target::Database(settings) => {
                    let (pool, publisher) = trust_target::database(&settings).await?;
                    service::keys::import(
                        &pool,
                        &service::Actor::cli(),
                        &publisher,
                        &KeyImport {
                            name,
                            public_key_pem: pem,
                            owner_team: owner,
                            custody: custody.as_str().to_owned(),
                            custody_uri,
                            valid_from,
                            valid_until,
                            rotation_period_days: rotation_days,
                        },
                        chrono::Utc::now(),
                    )
                    .await?
                }
            };
            let k = &change.key;
            print_change(
                &change,
                &format!(
                    "imported key {:?} ({}, {}) owned by {}",
                    k.name, k.algorithm, k.fingerprint, k.owner_team
                ),
            );
        }
        KeysCommand::SetStatus {
            name,
            status,
            since,
        } => {
            let since = since.as_deref().map(parse_time).transpose()?;
            let status = KeyStatus::from(status);
            let change: KeyChange = match target {
                Target::Server(client) => {
                    let body = json!({"status": status.as_str(), "since": since});
                    let res = client
                        .send(
                            client
                                .http()
                                .put(client.url(&["keys", &name, "status"])?)
                                .json(&body),
                        )
                        .await?;
                    from_wire(res.json::<Value>().await?)?
                }
                Target::Database(settings) => {
                    let (pool, publisher) = trust_target::database(&settings).await?;
                    service::keys::set_status(
                        &pool,
                        &service::Actor::cli(),
                        &publisher,
                        &name,
                        status,
                        since,
                        chrono::Utc::now(),
                    )
                    .await?
                }
            };
            print_change(&change, &describe(&change.key));
        }
        KeysCommand::List { output } => {
            let keys: Vec<Key> = match target {
                Target::Server(client) => {
                    let list = client.get_json(&["keys"]).await?;
                    serde_json::from_value::<Vec<Value>>(list)
                        .context("unexpected answer from the server")?
                        .into_iter()
                        .map(key_from_wire)
                        .collect::<anyhow::Result<_>>()?
                }
                Target::Database(settings) => {
                    let pool = super::connect(&settings).await?;
                    service::keys::list(&pool).await?
                }
            };
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&keys)?),
                Output::Text => {
                    println!(
                        "{:<24} {:<14} {:<11} {:<12} {:<20} VALID",
                        "NAME", "OWNER", "ALGORITHM", "STATUS", "FINGERPRINT"
                    );
                    for k in &keys {
                        let short = domain::KeyFingerprint::parse(&k.fingerprint)
                            .map(|f| f.short().to_owned())
                            .unwrap_or_else(|_| k.fingerprint.clone());
                        println!(
                            "{:<24} {:<14} {:<11} {:<12} sha256:{:<13} {} – {}",
                            k.name,
                            k.owner_team,
                            k.algorithm,
                            k.status,
                            short,
                            k.valid_from.format("%Y-%m-%d"),
                            k.valid_until
                                .map_or(String::new(), |u| u.format("%Y-%m-%d").to_string())
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// A key as the API sends it.
fn key_from_wire(v: Value) -> anyhow::Result<Key> {
    serde_json::from_value(v).context("unexpected key in the server's answer")
}

/// A key change as the API sends it.
fn from_wire(v: Value) -> anyhow::Result<KeyChange> {
    Ok(KeyChange {
        key: key_from_wire(v["key"].clone())?,
        bundle_version: v["bundle_version"].as_u64(),
    })
}
