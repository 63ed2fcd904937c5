use clap::Subcommand;
use domain::TokenScope;

use crate::Settings;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once. It cannot be shown again.
    Create {
        #[arg(long)]
        name: String,
        /// ingest:verification, ingest:signing, read or admin; repeat or separate with commas.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Bind the token to one cluster (registered if new).
        #[arg(long)]
        cluster: Option<String>,
        /// Let the token report for clusters not seen before, registering them.
        #[arg(long)]
        register_clusters: bool,
    },
    /// List tokens (never their values).
    List,
    /// Revoke a token by name; requests carrying it are refused from now on.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

pub async fn run(settings: &Settings, cmd: TokenCommand) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    match cmd {
        TokenCommand::Create {
            name,
            scopes,
            cluster,
            register_clusters,
        } => {
            let scopes = TokenScope::parse_list(&scopes.join(","))?;
            let (token, secret) = service::tokens::create(
                &pool,
                &service::Actor::cli(),
                &name,
                &scopes,
                cluster.as_deref(),
                register_clusters,
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
        TokenCommand::Revoke { name } => {
            let token = service::tokens::list(&pool)
                .await?
                .into_iter()
                .find(|t| t.name == name && t.revoked_at.is_none())
                .ok_or_else(|| anyhow::anyhow!("no active token named {name:?}"))?;
            service::tokens::revoke(&pool, &service::Actor::cli(), token.id).await?;
            println!("revoked token {name:?}");
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
