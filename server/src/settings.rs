//! Typed configuration: defaults, then an optional TOML file, then `TRUSTWATCH_*` variables
//! (and `DATABASE_URL`), each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use secrecy::SecretString;
use serde::Deserialize;

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
        self.validate()
    }

    fn validate(&self) -> anyhow::Result<()> {
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
        Ok(())
    }

    pub fn require_database_url(&self) -> anyhow::Result<&SecretString> {
        self.database_url
            .as_ref()
            .context("DATABASE_URL is not set (or database_url in the settings file)")
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
