//! The registry options `sign` and `verify` share: which registries may be spoken to in plain
//! HTTP, and whose credentials to use.

use clap::Args;
use domain::ImageReference;
use secrecy::SecretString;
use service::registry::{CacheConfig, Credentials, RegistryClient, RegistryConfig};

#[derive(Args)]
pub struct RegistryArgs {
    /// Speak plain HTTP to this registry (`host` or `host:port`), as cosign's
    /// `--allow-http-registry` does. Repeatable. Every other registry is HTTPS only.
    #[arg(long = "allow-http-registry", value_name = "HOST")]
    allow_http: Vec<String>,
    /// Log in to the image's registry as this user; the password comes from
    /// TRUSTWATCH_REGISTRY_PASSWORD. Without it, the registry is accessed anonymously.
    #[arg(long, value_name = "USER")]
    registry_username: Option<String>,
    /// Log in with the credentials of a Docker config file (`~/.docker/config.json`, an image
    /// pull secret's `.dockerconfigjson`), as skopeo's `--authfile` does.
    #[arg(long, value_name = "FILE", conflicts_with = "registry_username")]
    registry_auth_file: Option<std::path::PathBuf>,
}

impl RegistryArgs {
    /// A client for `image`'s registry. No cache: one command makes each request once.
    pub fn client(&self, image: &ImageReference) -> anyhow::Result<RegistryClient> {
        let mut config = RegistryConfig {
            cache: CacheConfig {
                max_entries: 0,
                ..CacheConfig::default()
            },
            ..RegistryConfig::default()
        };
        for host in &self.allow_http {
            config = config.allowing_http(host.trim());
        }
        if let Some(file) = &self.registry_auth_file {
            config = crate::settings::read_auth_file(config, file, "--registry-auth-file")?;
        }
        if let Some(username) = &self.registry_username {
            let password = std::env::var("TRUSTWATCH_REGISTRY_PASSWORD").map_err(|_| {
                anyhow::anyhow!(
                    "--registry-username needs the password in TRUSTWATCH_REGISTRY_PASSWORD"
                )
            })?;
            config = config.with_credentials(
                image.registry(),
                Credentials::new(username.clone(), SecretString::from(password)),
            );
        }
        Ok(RegistryClient::new(config)?)
    }
}
