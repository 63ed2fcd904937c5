use clap::Subcommand;
use domain::TokenScope;

use crate::Settings;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once. It cannot be shown again.
    Create {
        #[arg(long)]
        name: String,
        /// ingest:verification, ingest:signing or read; repeat or separate with commas.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Bind the token to one cluster (registered if new).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// List tokens (never their values).
    List,
}

pub async fn run(settings: &Settings, cmd: TokenCommand) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    match cmd {
        TokenCommand::Create {
            name,
            scopes,
            cluster,
        } => {
            let scopes = TokenScope::parse_list(&scopes.join(","))?;
            let (token, secret) = service::tokens::create(
                &pool,
                &service::Actor::cli(),
                &name,
                &scopes,
                cluster.as_deref(),
            )
            .await?;
            eprintln!(
                "created token {:?} with scopes {}{}; store it now, it will not be shown again:",
                token.name,
                token
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                token
                    .cluster
                    .map(|c| format!(" for cluster {c}"))
                    .unwrap_or_default()
            );
            println!("{}", secret.expose());
        }
        TokenCommand::List => {
            for t in service::tokens::list(&pool).await? {
                println!(
                    "{:<24} {}…  {:<40} {:<14} {}",
                    t.name,
                    t.token_prefix,
                    t.scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    t.cluster.unwrap_or_else(|| "any cluster".into()),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
    }
    Ok(())
}
