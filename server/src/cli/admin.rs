use std::io::Read;

use anyhow::{bail, Context};
use clap::Subcommand;
use domain::Role;

use crate::Settings;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an account; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        /// viewer, developer, security, admin or auditor
        #[arg(long)]
        role: String,
    },
    /// Create the first admin when there is no account yet (from TRUSTWATCH_ADMIN_EMAIL and
    /// TRUSTWATCH_ADMIN_PASSWORD, or with a generated one-time password it prints).
    Bootstrap,
}

pub async fn run(settings: &Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    match cmd {
        AdminCommand::CreateUser { email, role } => {
            let role = Role::parse(&role)?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            if password.is_empty() {
                bail!("no password on standard input (pipe it in, e.g. `echo … | trustwatch admin create-user …`)");
            }
            let user = service::users::create(
                &pool,
                &service::Actor::cli(),
                &email,
                role,
                password,
                false,
            )
            .await?;
            println!("created {} ({})", user.email, user.role);
        }
        AdminCommand::Bootstrap => {
            let email = std::env::var("TRUSTWATCH_ADMIN_EMAIL")
                .unwrap_or_else(|_| "admin@trustwatch.local".into());
            let password = std::env::var("TRUSTWATCH_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            match service::users::ensure_first_admin(&pool, &email, password.as_deref()).await? {
                None => println!("accounts exist already; no admin created"),
                Some((user, None)) => println!(
                    "created the first admin, {}, with the given password",
                    user.email
                ),
                Some((user, Some(generated))) => {
                    println!("created the first admin:");
                    println!("  e-mail:             {}", user.email);
                    println!("  one-time password:  {generated}");
                    println!("  (you will choose your own password at first login)");
                }
            }
        }
    }
    Ok(())
}
