//! Typed configuration: defaults, then an optional TOML file, then `TRUSTWATCH_*` variables
//! (and `DATABASE_URL`), each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use domain::DefaultAction;
use secrecy::SecretString;
use serde::Deserialize;
use service::verifier::FailurePolicy;

/// `config` with the credentials of the Docker config file at `path`; errors name the file and
/// the entry (`setting` says where the path came from), never a secret.
pub fn read_auth_file(
    config: service::registry::RegistryConfig,
    path: &Path,
    setting: &str,
) -> anyhow::Result<service::registry::RegistryConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {setting} {}", path.display()))?;
    config
        .with_auth_file(&text)
        .with_context(|| format!("{setting} {}", path.display()))
}

/// Under the data folder `scripts/run` keeps beside the checkout (relative to the working
/// directory, which the scripts set to the checkout).
pub const DEFAULT_BUNDLE_KEY_FILE: &str = ".data/bundle-signing.key";

const MAX_BUNDLE_VALIDITY_HOURS: i64 = 24 * 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// No default: a database address can hold a password.
    pub database_url: Option<SecretString>,
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    /// Set when Trustwatch is reached over HTTPS (directly or behind a proxy): cookies are then
    /// marked `Secure`.
    pub secure_cookies: bool,
    pub session_idle_minutes: i64,
    pub stale_after_minutes: i64,
    pub login_max_failures_per_account: i64,
    pub login_max_failures_per_address: i64,
    pub login_window_minutes: i64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    pub database_max_connections: u32,
    /// Where cargo-leptos put the compiled site (`pkg/`, CSS, public files).
    pub site_root: PathBuf,
    /// Raw verification events older than this are dropped (hourly rollups are kept).
    pub event_retention_days: i64,
    /// The trust-bundle signing key: an Ed25519 private key in PKCS#8 PEM (as `openssl genpkey
    /// -algorithm ed25519` writes it). Generated, readable by its owner only, when absent at the
    /// first start. Every replica of the server needs the same file.
    pub bundle_key_file: PathBuf,
    /// How long a published trust bundle stays valid; the server renews it after half of this.
    pub bundle_validity_hours: i64,
    /// What happens to an image no policy covers, as the bundle tells verifiers.
    pub default_policy_action: DefaultAction,
    /// Where people reach Trustwatch (`https://trustwatch.example.com`), for links in messages
    /// such as an admission refusal's. Unset, messages name the event instead of linking it.
    pub public_url: Option<String>,
    /// A PEM certificate chain and its PEM private key: when both are set, `serve` speaks HTTPS
    /// only (the Kubernetes API server calls webhooks over HTTPS), and reloads the pair when
    /// either file changes.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// How often the TLS files are checked for a change.
    pub tls_reload_seconds: u64,
    /// What the admission webhook does when a registry cannot be asked and the signatures
    /// Trustwatch recorded do not suffice: `fail` (refuse) or `ignore` (admit with a warning).
    pub admission_failure_policy: FailurePolicy,
    /// The most one admission review may take. Keep it below the webhook's `timeoutSeconds`.
    pub admission_deadline_millis: u64,
    /// How often the webhook looks for a newer trust bundle: a revocation reaches it this soon.
    pub admission_bundle_refresh_millis: u64,
    /// Registries the server may speak plain HTTP to, as `host` or `host:port`.
    pub registry_allow_http: Vec<String>,
    /// Extra certificate authorities (PEM) for registries behind a private CA.
    pub registry_ca_file: Option<PathBuf>,
    /// Registry credentials as a Docker config file (`{"auths": …}`: an image pull secret's
    /// `.dockerconfigjson`, `~/.docker/config.json`, skopeo's auth file). Read at start-up.
    pub registry_auth_file: Option<PathBuf>,
    /// How long a registry's answers (tags resolved, signature lists) are kept.
    pub registry_cache_seconds: u64,
    /// How often `serve` evaluates the alert rules and sends pending alerts to the webhooks.
    pub alert_interval_seconds: u64,
    /// Where new alerts are POSTed as JSON. Secrets: such URLs often carry a token.
    pub alert_webhooks: Vec<SecretString>,
    /// Signs each webhook request (`X-Trustwatch-Signature`, HMAC-SHA256) when set.
    pub alert_webhook_secret: Option<SecretString>,
    /// The incident playbooks (`*.toml`), read and validated at start-up: a broken file stops
    /// the server with its file, line and reason.
    pub playbooks_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            log_format: LogFormat::Text,
            secure_cookies: false,
            session_idle_minutes: 30,
            stale_after_minutes: 15,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 20,
            login_window_minutes: 15,
            trust_forwarded_for: false,
            database_max_connections: 16,
            site_root: PathBuf::from("target/site"),
            event_retention_days: 400,
            bundle_key_file: PathBuf::from(DEFAULT_BUNDLE_KEY_FILE),
            bundle_validity_hours: 168,
            default_policy_action: DefaultAction::Deny,
            public_url: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_reload_seconds: 5,
            admission_failure_policy: FailurePolicy::Fail,
            admission_deadline_millis: 8000,
            admission_bundle_refresh_millis: 1000,
            registry_allow_http: Vec::new(),
            registry_ca_file: None,
            registry_auth_file: None,
            registry_cache_seconds: 30,
            alert_interval_seconds: 60,
            alert_webhooks: Vec::new(),
            alert_webhook_secret: None,
            playbooks_dir: PathBuf::from("playbooks"),
        }
    }
}

impl Settings {
    /// Loads settings from `file` (when given) and the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading settings file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing settings file {}", path.display()))?
            }
            None => Settings::default(),
        };
        s.apply_env(|k| std::env::var(k).ok())?;
        Ok(s)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> anyhow::Result<T>
        where
            T::Err: std::fmt::Display,
        {
            v.trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("{key}={v:?} is not valid: {e}"))
        }
        if let Some(v) = var("DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database_url = Some(SecretString::from(v));
        }
        if let Some(v) = var("TRUSTWATCH_LISTEN") {
            self.listen = parse("TRUSTWATCH_LISTEN", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_LOG_FORMAT") {
            self.log_format = match v.trim() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => {
                    bail!("TRUSTWATCH_LOG_FORMAT={other:?} is not valid: expected json or text")
                }
            };
        }
        if let Some(v) = var("TRUSTWATCH_SECURE_COOKIES") {
            self.secure_cookies = parse("TRUSTWATCH_SECURE_COOKIES", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_SESSION_IDLE_MINUTES") {
            self.session_idle_minutes = parse("TRUSTWATCH_SESSION_IDLE_MINUTES", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_STALE_AFTER_MINUTES") {
            self.stale_after_minutes = parse("TRUSTWATCH_STALE_AFTER_MINUTES", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_LOGIN_MAX_FAILURES_PER_ACCOUNT") {
            self.login_max_failures_per_account =
                parse("TRUSTWATCH_LOGIN_MAX_FAILURES_PER_ACCOUNT", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_LOGIN_MAX_FAILURES_PER_ADDRESS") {
            self.login_max_failures_per_address =
                parse("TRUSTWATCH_LOGIN_MAX_FAILURES_PER_ADDRESS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_LOGIN_WINDOW_MINUTES") {
            self.login_window_minutes = parse("TRUSTWATCH_LOGIN_WINDOW_MINUTES", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_TRUST_FORWARDED_FOR") {
            self.trust_forwarded_for = parse("TRUSTWATCH_TRUST_FORWARDED_FOR", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_DATABASE_MAX_CONNECTIONS") {
            self.database_max_connections = parse("TRUSTWATCH_DATABASE_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_EVENT_RETENTION_DAYS") {
            self.event_retention_days = parse("TRUSTWATCH_EVENT_RETENTION_DAYS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_SITE_ROOT") {
            self.site_root = PathBuf::from(v);
        }
        if let Some(v) = var("TRUSTWATCH_BUNDLE_KEY_FILE").filter(|v| !v.is_empty()) {
            self.bundle_key_file = PathBuf::from(v);
        }
        if let Some(v) = var("TRUSTWATCH_BUNDLE_VALIDITY_HOURS") {
            self.bundle_validity_hours = parse("TRUSTWATCH_BUNDLE_VALIDITY_HOURS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_PLAYBOOKS_DIR").filter(|v| !v.trim().is_empty()) {
            self.playbooks_dir = PathBuf::from(v);
        }
        if let Some(v) = var("TRUSTWATCH_DEFAULT_POLICY_ACTION") {
            self.default_policy_action = DefaultAction::parse(&v)
                .map_err(|e| anyhow::anyhow!("TRUSTWATCH_DEFAULT_POLICY_ACTION: {e}"))?;
        }
        self.apply_admission_env(&var)?;
        self.apply_alert_env(&var)?;
        self.validate()
    }

    /// The webhook's, TLS and registry settings from the environment.
    fn apply_admission_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn number(key: &str, v: String) -> anyhow::Result<u64> {
            v.trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("{key}={v:?} is not valid: {e}"))
        }
        let path = |key: &str| var(key).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        if let Some(v) = var("TRUSTWATCH_PUBLIC_URL") {
            self.public_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(p) = path("TRUSTWATCH_TLS_CERT_FILE") {
            self.tls_cert_file = Some(p);
        }
        if let Some(p) = path("TRUSTWATCH_TLS_KEY_FILE") {
            self.tls_key_file = Some(p);
        }
        if let Some(v) = var("TRUSTWATCH_TLS_RELOAD_SECONDS") {
            self.tls_reload_seconds = number("TRUSTWATCH_TLS_RELOAD_SECONDS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_ADMISSION_FAILURE_POLICY") {
            self.admission_failure_policy = FailurePolicy::parse(&v)
                .map_err(|e| anyhow::anyhow!("TRUSTWATCH_ADMISSION_FAILURE_POLICY: {e}"))?;
        }
        if let Some(v) = var("TRUSTWATCH_ADMISSION_DEADLINE_MILLIS") {
            self.admission_deadline_millis = number("TRUSTWATCH_ADMISSION_DEADLINE_MILLIS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_ADMISSION_BUNDLE_REFRESH_MILLIS") {
            self.admission_bundle_refresh_millis =
                number("TRUSTWATCH_ADMISSION_BUNDLE_REFRESH_MILLIS", v)?;
        }
        if let Some(v) = var("TRUSTWATCH_REGISTRY_ALLOW_HTTP") {
            self.registry_allow_http = v
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(p) = path("TRUSTWATCH_REGISTRY_CA_FILE") {
            self.registry_ca_file = Some(p);
        }
        if let Some(p) = path("TRUSTWATCH_REGISTRY_AUTH_FILE") {
            self.registry_auth_file = Some(p);
        }
        if let Some(v) = var("TRUSTWATCH_REGISTRY_CACHE_SECONDS") {
            self.registry_cache_seconds = number("TRUSTWATCH_REGISTRY_CACHE_SECONDS", v)?;
        }
        Ok(())
    }

    /// The alert settings from the environment.
    fn apply_alert_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("TRUSTWATCH_ALERT_INTERVAL_SECONDS") {
            self.alert_interval_seconds = v.trim().parse().map_err(|e| {
                anyhow::anyhow!("TRUSTWATCH_ALERT_INTERVAL_SECONDS={v:?} is not valid: {e}")
            })?;
        }
        if let Some(v) = var("TRUSTWATCH_ALERT_WEBHOOKS") {
            self.alert_webhooks = v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(SecretString::from)
                .collect();
        }
        if let Some(v) = var("TRUSTWATCH_ALERT_WEBHOOK_SECRET").filter(|v| !v.is_empty()) {
            self.alert_webhook_secret = Some(SecretString::from(v));
        }
        Ok(())
    }

    /// The webhooks alerts go to. An error names the webhook by its position, never its URL.
    pub fn alert_webhooks(&self) -> anyhow::Result<service::alerts::Webhooks> {
        use secrecy::ExposeSecret;
        let targets = self
            .alert_webhooks
            .iter()
            .enumerate()
            .map(|(i, url)| {
                service::alerts::Webhook::parse(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("alert_webhooks, entry {}: {e}", i + 1))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(service::alerts::Webhooks {
            targets,
            secret: self.alert_webhook_secret.clone(),
            public_url: self.public_url().map(str::to_owned),
        })
    }

    /// What each alert evaluation needs.
    pub fn alert_config(&self) -> anyhow::Result<service::alerts::AlertConfig> {
        Ok(service::alerts::AlertConfig {
            stale_after: chrono::TimeDelta::minutes(self.stale_after_minutes),
            webhooks: self.alert_webhooks()?,
        })
    }

    fn validate_admission(&self) -> anyhow::Result<()> {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            bail!("tls_cert_file and tls_key_file go together: set both (HTTPS) or neither (HTTP)");
        }
        if self.tls_reload_seconds == 0 {
            bail!("tls_reload_seconds must be at least 1");
        }
        if !(100..=29_000).contains(&self.admission_deadline_millis) {
            bail!(
                "admission_deadline_millis must be between 100 and 29000: Kubernetes waits at most 30 s for a webhook"
            );
        }
        if let Some(url) = &self.public_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                bail!("public_url {url:?} is not an http(s) URL such as https://trustwatch.example.com");
            }
        }
        Ok(())
    }

    /// The TLS files `serve` uses, when both are set.
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        Some(crate::tls::TlsFiles {
            certificate: self.tls_cert_file.clone()?,
            key: self.tls_key_file.clone()?,
            reload_every: std::time::Duration::from_secs(self.tls_reload_seconds),
        })
    }

    /// `public_url` without a trailing slash.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref().map(|u| u.trim_end_matches('/'))
    }

    /// The registry client the webhook uses.
    pub fn registry_config(&self) -> anyhow::Result<service::registry::RegistryConfig> {
        use std::time::Duration;
        let mut config = service::registry::RegistryConfig {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_millis(self.admission_deadline_millis),
            cache: service::registry::CacheConfig {
                ttl: Duration::from_secs(self.registry_cache_seconds),
                ..service::registry::CacheConfig::default()
            },
            ..service::registry::RegistryConfig::default()
        };
        for host in &self.registry_allow_http {
            config = config.allowing_http(host);
        }
        if let Some(file) = &self.registry_ca_file {
            config.ca_certificates_pem.push(
                std::fs::read_to_string(file)
                    .with_context(|| format!("reading registry_ca_file {}", file.display()))?,
            );
        }
        if let Some(file) = &self.registry_auth_file {
            config = read_auth_file(config, file, "registry_auth_file")?;
        }
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.validate_admission()?;
        if self.alert_interval_seconds < 5 {
            bail!("alert_interval_seconds must be at least 5");
        }
        self.alert_webhooks()?;
        if self.session_idle_minutes < 1 {
            bail!("session_idle_minutes must be at least 1");
        }
        if self.login_max_failures_per_account < 1 || self.login_max_failures_per_address < 1 {
            bail!("login failure limits must be at least 1");
        }
        if self.event_retention_days < 31 {
            bail!("event_retention_days must be at least 31 (partitions are monthly)");
        }
        if self.login_window_minutes < 1 || self.stale_after_minutes < 1 {
            bail!("login_window_minutes and stale_after_minutes must be at least 1");
        }
        if !(1..=MAX_BUNDLE_VALIDITY_HOURS).contains(&self.bundle_validity_hours) {
            bail!(
                "bundle_validity_hours must be between 1 and {MAX_BUNDLE_VALIDITY_HOURS} (a year): a cut-off cluster must stop trusting stale data eventually"
            );
        }
        Ok(())
    }

    pub fn require_database_url(&self) -> anyhow::Result<&SecretString> {
        self.database_url
            .as_ref()
            .context("DATABASE_URL is not set (or database_url in the settings file)")
    }

    pub fn bundle_validity(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::hours(self.bundle_validity_hours)
    }

    pub fn throttle(&self) -> service::login::Throttle {
        service::login::Throttle {
            max_failures_per_account: self.login_max_failures_per_account,
            max_failures_per_address: self.login_max_failures_per_address,
            window: chrono::Duration::minutes(self.login_window_minutes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn with_env(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut s = Settings::default();
        s.apply_env(|k| env.get(k).cloned())?;
        Ok(s)
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = with_env(&[
            ("DATABASE_URL", "postgres://x@h/db"),
            ("TRUSTWATCH_LISTEN", "0.0.0.0:8080"),
            ("TRUSTWATCH_LOG_FORMAT", "json"),
            ("TRUSTWATCH_SECURE_COOKIES", "true"),
        ])
        .unwrap();
        assert_eq!(s.database_url.unwrap().expose_secret(), "postgres://x@h/db");
        assert_eq!(s.listen.port(), 8080);
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(s.secure_cookies);
    }

    #[test]
    fn bad_values_are_named() {
        let e = with_env(&[("TRUSTWATCH_LISTEN", "nowhere")]).unwrap_err();
        assert!(e.to_string().contains("TRUSTWATCH_LISTEN"), "{e}");
        assert!(with_env(&[("TRUSTWATCH_LOG_FORMAT", "xml")]).is_err());
        assert!(with_env(&[("TRUSTWATCH_SESSION_IDLE_MINUTES", "0")]).is_err());
    }

    #[test]
    fn trust_bundle_settings() {
        let s = Settings::default();
        assert_eq!(s.bundle_key_file, PathBuf::from(".data/bundle-signing.key"));
        assert_eq!(s.bundle_validity_hours, 168);
        assert_eq!(s.default_policy_action, DefaultAction::Deny);
        let s = with_env(&[
            ("TRUSTWATCH_BUNDLE_KEY_FILE", "/etc/trustwatch/bundle.key"),
            ("TRUSTWATCH_BUNDLE_VALIDITY_HOURS", "24"),
            ("TRUSTWATCH_DEFAULT_POLICY_ACTION", "warn"),
        ])
        .unwrap();
        assert_eq!(
            s.bundle_key_file,
            PathBuf::from("/etc/trustwatch/bundle.key")
        );
        assert_eq!(s.bundle_validity(), chrono::TimeDelta::hours(24));
        assert_eq!(s.default_policy_action, DefaultAction::Warn);
        assert!(with_env(&[("TRUSTWATCH_DEFAULT_POLICY_ACTION", "reject")]).is_err());
        assert!(with_env(&[("TRUSTWATCH_BUNDLE_VALIDITY_HOURS", "0")]).is_err());
        let file: Settings =
            toml::from_str("default_policy_action = \"allow\"\nbundle_validity_hours = 12")
                .unwrap();
        assert_eq!(file.default_policy_action, DefaultAction::Allow);
    }

    #[test]
    fn admission_tls_and_registry_settings() {
        let s = Settings::default();
        assert_eq!(s.admission_failure_policy, FailurePolicy::Fail);
        assert!(s.tls_cert_file.is_none() && s.public_url().is_none());
        let s = with_env(&[
            ("TRUSTWATCH_PUBLIC_URL", "https://trustwatch.example.com/"),
            ("TRUSTWATCH_TLS_CERT_FILE", "/tls/tls.crt"),
            ("TRUSTWATCH_TLS_KEY_FILE", "/tls/tls.key"),
            ("TRUSTWATCH_ADMISSION_FAILURE_POLICY", "ignore"),
            ("TRUSTWATCH_ADMISSION_DEADLINE_MILLIS", "5000"),
            (
                "TRUSTWATCH_REGISTRY_ALLOW_HTTP",
                "localhost:5000, registry.local",
            ),
        ])
        .unwrap();
        assert_eq!(s.public_url(), Some("https://trustwatch.example.com"));
        assert_eq!(s.tls_key_file, Some(PathBuf::from("/tls/tls.key")));
        assert_eq!(s.admission_failure_policy, FailurePolicy::Ignore);
        assert_eq!(s.admission_deadline_millis, 5000);
        assert_eq!(s.registry_allow_http, ["localhost:5000", "registry.local"]);
        assert!(s.registry_config().is_ok());

        let e = with_env(&[("TRUSTWATCH_TLS_CERT_FILE", "/tls/tls.crt")]).unwrap_err();
        assert!(e.to_string().contains("go together"), "{e}");
        assert!(with_env(&[("TRUSTWATCH_ADMISSION_FAILURE_POLICY", "open")]).is_err());
        assert!(with_env(&[("TRUSTWATCH_ADMISSION_DEADLINE_MILLIS", "30000")]).is_err());
        assert!(with_env(&[("TRUSTWATCH_PUBLIC_URL", "trustwatch.example.com")]).is_err());
        let file: Settings = toml::from_str(
            "admission_failure_policy = \"ignore\"\nregistry_allow_http = [\"localhost:5000\"]",
        )
        .unwrap();
        assert_eq!(file.admission_failure_policy, FailurePolicy::Ignore);
    }

    #[test]
    fn registry_credentials_come_from_a_docker_config_file() {
        let dir = std::env::temp_dir().join(format!("trustwatch-auth-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("config.json");
        std::fs::write(
            &good,
            r#"{"auths": {"registry.example.com": {"username": "ci", "password": "hunter2-secret"}}}"#,
        )
        .unwrap();
        let s = with_env(&[("TRUSTWATCH_REGISTRY_AUTH_FILE", good.to_str().unwrap())]).unwrap();
        assert_eq!(s.registry_auth_file.as_deref(), Some(good.as_path()));
        let config = s.registry_config().unwrap();
        assert_eq!(config.credentials["registry.example.com"].username(), "ci");

        let bad = dir.join("not-base64.json");
        std::fs::write(
            &bad,
            r#"{"auths": {"ghcr.io": {"auth": "hunter2-secret"}}}"#,
        )
        .unwrap();
        let s = with_env(&[("TRUSTWATCH_REGISTRY_AUTH_FILE", bad.to_str().unwrap())]).unwrap();
        let e = format!("{:#}", s.registry_config().unwrap_err());
        assert!(
            e.contains("registry_auth_file") && e.contains("not-base64.json"),
            "{e}"
        );
        assert!(e.contains("auths.\"ghcr.io\""), "{e}");
        assert!(!e.contains("hunter2"), "{e}");

        let missing = dir.join("absent.json");
        let s = with_env(&[("TRUSTWATCH_REGISTRY_AUTH_FILE", missing.to_str().unwrap())]).unwrap();
        let e = format!("{:#}", s.registry_config().unwrap_err());
        assert!(e.contains("reading registry_auth_file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn alert_settings() {
        let s = Settings::default();
        assert_eq!(s.alert_interval_seconds, 60);
        assert!(s.alert_config().unwrap().webhooks.targets.is_empty());
        let s = with_env(&[
            ("TRUSTWATCH_ALERT_INTERVAL_SECONDS", "30"),
            (
                "TRUSTWATCH_ALERT_WEBHOOKS",
                "https://hooks.example.com/T0/B0/hunter2, http://127.0.0.1:9000/alerts",
            ),
            ("TRUSTWATCH_ALERT_WEBHOOK_SECRET", "s3cret-value"),
        ])
        .unwrap();
        assert_eq!(s.alert_interval_seconds, 30);
        let hooks = s.alert_webhooks().unwrap();
        assert_eq!(hooks.targets.len(), 2);
        assert_eq!(hooks.targets[0].origin(), "https://hooks.example.com");
        let shown = format!("{s:?} {hooks:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        let e = with_env(&[("TRUSTWATCH_ALERT_WEBHOOKS", "ftp://x/hunter2")]).unwrap_err();
        assert!(e.to_string().contains("entry 1"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(with_env(&[("TRUSTWATCH_ALERT_INTERVAL_SECONDS", "1")]).is_err());
    }

    #[test]
    fn playbooks_dir_setting() {
        assert_eq!(
            Settings::default().playbooks_dir,
            PathBuf::from("playbooks")
        );
        let s = with_env(&[("TRUSTWATCH_PLAYBOOKS_DIR", "/etc/trustwatch/playbooks")]).unwrap();
        assert_eq!(s.playbooks_dir, PathBuf::from("/etc/trustwatch/playbooks"));
        let file: Settings = toml::from_str("playbooks_dir = \"ops/playbooks\"").unwrap();
        assert_eq!(file.playbooks_dir, PathBuf::from("ops/playbooks"));
    }

    #[test]
    fn files_refuse_unknown_keys() {
        assert!(toml::from_str::<Settings>("listen = \"127.0.0.1:9\"").is_ok());
        assert!(toml::from_str::<Settings>("lisen = \"127.0.0.1:9\"").is_err());
    }

    #[test]
    fn debug_output_hides_the_database_url() {
        let s = with_env(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
